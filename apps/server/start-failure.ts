import { inspect } from 'node:util';

/**
 * What stopped a start, as one line of text: an error's message (the first
 * line, without its stack), the messages inside an AggregateError (whose
 * own message is often empty: a connection refused on every address), or
 * a thrown non-Error as text, never as `[object Object]`.
 */
export function oneLine(error: unknown): string {
  const text = describe(error)
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  return text === '' ? 'unknown error' : text;
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') return error.errors.map(describe).join('; ');
  if (error instanceof Error) return error.message === '' ? error.name : error.message;
  if (typeof error === 'object' && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === 'string' && message !== '') return message;
    return inspect(error, { depth: 2, breakLength: Infinity, compact: true });
  }
  return String(error);
}
