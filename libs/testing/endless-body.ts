import type { ServerResponse } from 'node:http';

/** What an endless answer has sent so far, and whether its client hung up. */
export interface EndlessAnswer {
  bytesSent(): number;
  closed(): boolean;
}

const CHUNK = Buffer.alloc(64 * 1024, ' ');

/**
 * Answers 200 with a body that never ends (a JSON opening, then spaces as
 * fast as the client reads): a hostile or broken server, for testing that
 * a client caps what it reads and hangs up rather than buffering forever.
 * Stops writing when the client closes the connection.
 */
export function answerEndlessly(
  res: ServerResponse,
  contentType = 'application/json',
  opening = '{"keys":[',
): EndlessAnswer {
  let sent = 0;
  let closed = false;
  res.on('close', () => (closed = true));
  res.writeHead(200, { 'content-type': contentType });
  const pump = (): void => {
    while (!closed && !res.writableEnded) {
      sent += CHUNK.length;
      if (!res.write(CHUNK)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  res.write(opening);
  pump();
  return { bytesSent: () => sent, closed: () => closed };
}
