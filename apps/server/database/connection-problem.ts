import { SettingsError } from '../settings/settings';

/**
 * Errors that mean the database URL is wrong or its server unreachable, not
 * that attestd is broken: socket errors, a malformed URL, and the SQLSTATEs
 * of a refused connection (class 08), a refused login (class 28), a database
 * that does not exist (3D000), a server starting up or shutting down (57P0x)
 * or one out of connections (53300).
 */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ERR_INVALID_URL',
]);
const SQLSTATES = /^(08...|28...|3D000|57P0[1-4]|53300)$/;

/** A SettingsError naming the URL's setting and its server (never the password), when `error` is one of those; else undefined. */
export function connectionProblem(error: unknown, url: string): SettingsError | undefined {
  const cause = error instanceof AggregateError && error.errors.length > 0 ? (error.errors[0] as unknown) : error;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !(SOCKET_CODES.has(code) || SQLSTATES.test(code))) return undefined;
  const shown = withoutPassword(url);
  const message = String((cause as { message?: unknown }).message || code);
  return new SettingsError(
    `databaseUrl (DATABASE_URL or ATTESTD_DATABASE_URL): cannot use ${shown}: ${hidePassword(message, url)}`,
  );
}

/** `postgresql://attestd:***@db:5432/attestd`; a URL that does not parse is not shown at all (it may hold a password). */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the database URL (it is not a valid URL)';
  }
}

function hidePassword(message: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    // a URL that does not parse: its text is not in the driver's message either
  }
  return (password.length > 0 ? message.replaceAll(password, '***') : message).split('\n')[0]!;
}
