import pino, { type Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

const SECRET_FIELDS = ['token', 'proofs', 'csr', 'authorization', 'privateKey', 'clientSecret', 'pop'];

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
  return Object.fromEntries(Object.entries(value).filter(([key]) => !STATEMENT_VALUE_FIELDS.has(key)).map(([key, child]) => [key, withoutStatementValues(child, depth + 1)]));
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
      serializers: { err: (error: Error) => withoutStatementValues(pino.stdSerializers.err(error)) },
      // top-level and one level down: pino's `*.x` does not match a top-level `x`
      redact: { paths: [...SECRET_FIELDS, ...SECRET_FIELDS.map((field) => `*.${field}`), 'req.headers.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}
