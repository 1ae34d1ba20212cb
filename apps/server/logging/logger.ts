import pino, { type Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

const SECRET_FIELDS = ['token', 'proofs', 'csr', 'authorization', 'privateKey', 'clientSecret', 'pop'];

/**
 * JSON logs, one line an event (`operations.md`). Redaction is a second
 * line of defence: code never passes proofs, tokens or keys to the logger.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'attestd' },
      // top-level and one level down: pino's `*.x` does not match a top-level `x`
      redact: { paths: [...SECRET_FIELDS, ...SECRET_FIELDS.map((field) => `*.${field}`), 'req.headers.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}
