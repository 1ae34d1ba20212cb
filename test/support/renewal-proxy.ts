import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/** What happens to the answer to the next `POST /v1/agent/renew` through the proxy. */
type RenewalAnswer = { kind: 'pass' } | { kind: 'drop' } | { kind: 'hold'; held: () => void; release: Promise<void> };

/**
 * A TCP proxy between agents and attestd that can lose the answer to a
 * renewal after attestd committed it: the connection is cut when attestd's
 * answer to the next `POST /v1/agent/renew` arrives, as a proxy timeout or a
 * dropped connection would. Agents keep their connections alive, so a
 * connection is watched request by request: its first answer after such a
 * request line is that request's answer.
 */
export class RenewalProxy {
  private readonly sockets = new Set<Socket>();
  private next: RenewalAnswer = { kind: 'pass' };
  private server?: Server;
  /** answers to renewals that were cut so far */
  dropped = 0;
  url = '';

  constructor(private readonly upstream: { host: string; port: number }) {}

  static async start(upstreamUrl: string): Promise<RenewalProxy> {
    const target = new URL(upstreamUrl);
    const proxy = new RenewalProxy({ host: target.hostname, port: Number(target.port) });
    proxy.server = createServer((client) => proxy.connect(client));
    await new Promise<void>((resolve) => proxy.server!.listen(0, '127.0.0.1', resolve));
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** The next renewal's answer is cut: attestd committed the renewal, the agent never hears of it. */
  dropNextRenewalAnswer(): void {
    this.next = { kind: 'drop' };
  }

  /**
   * The next renewal's answer is held back; `held` resolves once attestd
   * answered (so committed), and the answer is cut when `drop()` is called.
   */
  holdNextRenewalAnswer(): { held: Promise<void>; drop: () => void } {
    let held: () => void = () => undefined;
    let drop: () => void = () => undefined;
    const heldPromise = new Promise<void>((done) => (held = done));
    const release = new Promise<void>((done) => (drop = done));
    this.next = { kind: 'hold', held, release };
    return { held: heldPromise, drop };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private connect(client: Socket): void {
    const upstream = new Socket();
    upstream.connect(this.upstream.port, this.upstream.host);
    this.sockets.add(client).add(upstream);
    let renewalInFlight = false;
    client.on('data', (chunk: Buffer) => {
      if (chunk.includes('POST /v1/agent/renew ')) renewalInFlight = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (renewalInFlight) {
        renewalInFlight = false;
        const answer = this.next;
        if (answer.kind !== 'pass') {
          this.next = { kind: 'pass' };
          upstream.pause();
          const cut = () => {
            this.dropped += 1;
            client.destroy();
            upstream.destroy();
          };
          if (answer.kind === 'drop') return cut();
          answer.held();
          void answer.release.then(cut);
          return;
        }
      }
      client.write(chunk);
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
    }
  }
}
