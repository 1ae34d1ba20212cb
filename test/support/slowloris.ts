import { connect, type Socket } from 'node:net';

export type SlowKind = 'idle' | 'header-trickle' | 'body-trickle' | 'idle-after-response';

/**
 * A slowloris attacker on one source address: it keeps `connections`
 * connections open at once, each of one kind in turn, and opens a new one
 * whenever the server closes one, until `stop()`. It never closes a
 * connection itself, so every close it sees is the server's.
 *
 * - `idle`: connects and sends nothing;
 * - `header-trickle`: request headers one byte at a time, never finished;
 * - `body-trickle`: whole headers, then a promised body one byte at a time;
 * - `idle-after-response`: one whole request, then silence on the kept-alive connection.
 */
export function slowloris(
  target: { host: string; port: number },
  from: string,
  connections: number,
  kinds: readonly SlowKind[],
  byteEveryMs = 100,
) {
  let attacking = true;
  let opened = 0;
  const closes: Promise<void>[] = [];
  const open = () => {
    const kind = kinds[opened++ % kinds.length]!;
    const socket = connect({ ...target, localAddress: from });
    socket.on('error', () => undefined); // writes after the server's close
    socket.resume(); // reads and drops what the server sends, or a paused socket would never see the server's close
    closes.push(
      new Promise((closed) =>
        socket.once('close', () => {
          clearInterval(timer);
          closed();
          // a refused connection comes back, but not in a busy loop
          if (attacking) setTimeout(() => attacking && open(), byteEveryMs);
        }),
      ),
    );
    const timer = setInterval(() => trickle(socket), byteEveryMs);
    let pending = '';
    const trickle = (s: Socket) => {
      if (pending.length === 0) return;
      s.write(pending[0]!);
      pending = pending.slice(1);
    };
    socket.once('connect', () => {
      if (kind === 'header-trickle')
        pending = `POST /v1/agent/login HTTP/1.1\r\nHost: attestd\r\nX-Slow: ${'a'.repeat(100_000)}`;
      if (kind === 'body-trickle') {
        socket.write(
          'POST /v1/agent/login HTTP/1.1\r\nHost: attestd\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
        );
        pending = '{'.padEnd(1000, ' ');
      }
      if (kind === 'idle-after-response') socket.write('GET /healthz HTTP/1.1\r\nHost: attestd\r\n\r\n');
    });
  };
  for (let i = 0; i < connections; i++) open();
  return {
    /** connections opened so far, closed by the server or not */
    get opened() {
      return opened;
    },
    /** Stops opening connections and resolves once the server has closed every one it was given. */
    async stop(): Promise<void> {
      attacking = false;
      for (let settled = 0; settled < closes.length; settled = closes.length) await Promise.all(closes.slice(settled));
    },
  };
}
