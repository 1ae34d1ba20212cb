import pino from 'pino';
import type { DaemonLog } from './daemon';

/**
 * The daemon's log: one JSON object a line (pino, as the server logs),
 * written through `write` (stderr), so stdout stays the command's output.
 * Callers log facts about certificates (SPIFFE ID, serial, times) and error
 * messages, never keys or proofs.
 */
export function createAgentLog(write: (line: string) => void): DaemonLog {
  return pino({ base: { name: 'attestd-agent' }, timestamp: pino.stdTimeFunctions.isoTime }, { write });
}
