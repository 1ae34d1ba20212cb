import pino, { type Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

const SECRET_FIELDS = new Set(['token', 'proofs', 'csr', 'authorization', 'privateKey', 'clientSecret', 'pop']);
const CENSOR = '[redacted]';

/**
 * Fields of a database error that hold a statement's bound values (PGlite's
 * and pg's `params`/`parameters`, Prisma's `values`): they carry whatever an
 * agent or admin sent (login nonces, tokens' text, reasons quoting input),
 * so an error is logged with its message, code and query text only.
 */
const STATEMENT_VALUE_FIELDS = new Set(['params', 'parameters', 'values', 'bindings']);

function withoutStatementValues(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > 4) return value;
  if (Array.isArray(value)) return value.map((item) => withoutStatementValues(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !STATEMENT_VALUE_FIELDS.has(key))
      .map(([key, child]) => [key, withoutStatementValues(child, depth + 1)]),
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** `object` with its secret fields censored; the same object when it has none (nothing is copied). */
function censorFields(object: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    if (SECRET_FIELDS.has(key)) (copy ??= { ...object })[key] = CENSOR;
  }
  return copy ?? object;
}

/**
 * Secret fields at the top level and one level down (`req.headers` too),
 * censored. Hand-written rather than pino's `redact` paths: those walk and
 * clone every logged object on every call, about 7 µs a line, several
 * times what the line costs otherwise; this reads each key once and
 * copies only an object that holds a secret (never the caller's).
 */
export function redactSecrets(object: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const value = object[key];
    let censored = value;
    if (SECRET_FIELDS.has(key)) censored = CENSOR;
    else if (isPlainObject(value)) {
      censored = censorFields(value);
      const headers = (censored as Record<string, unknown>).headers;
      if (key === 'req' && isPlainObject(headers) && 'authorization' in headers)
        censored = { ...(censored as object), headers: { ...headers, authorization: CENSOR } };
    }
    if (censored !== value) (copy ??= { ...object })[key] = censored;
  }
  return copy ?? object;
}

/**
 * JSON logs, one line an event (`operations.md`). Redaction is a second
 * line of defence: code never passes proofs, tokens or keys to the logger.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'attestd' },
      serializers: {
        err: (error: Error) =>
          censorFields(withoutStatementValues(pino.stdSerializers.err(error)) as Record<string, unknown>),
      },
      formatters: { log: redactSecrets },
    },
    destination,
  );
}
