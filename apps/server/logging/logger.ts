import pino, { type Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

/**
 * JSON logs, one line an event (`operations.md`). Redaction is a second
 * line of defence: code never passes proofs, tokens or keys to the logger.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'attestd' },
      redact: { paths: ['*.token', '*.proofs', '*.csr', '*.authorization', 'req.headers.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}
