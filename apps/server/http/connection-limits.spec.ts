import { connect, createServer, type Server, type Socket } from 'node:net';
import { until } from '@libs/testing/until';
import { capConnections, type RefusedBecause } from './connection-limits';

const limits = (maxConnectionsPerSource: number) => ({ maxConnectionsPerSource, maxConnections: 100 });

describe('the connection caps', () => {
  let server: Server;
  let clients: Socket[];
  let kept: Socket[];
  let refused: RefusedBecause[];
  const listen = async (cap: ReturnType<typeof limits>, trusted: string[] = []) => {
    server = createServer();
    capConnections(server, cap, trusted, (because) => refused.push(because));
    // after the cap's own listener: a connection it closed is already destroyed here
    server.on('connection', (socket: Socket) => socket.destroyed || kept.push(socket));
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  };
  /** a client from `from`, once the server has kept or refused it */
  const open = async (from: string): Promise<Socket> => {
    const socket = connect({
      port: (server.address() as { port: number }).port,
      host: '127.0.0.1',
      localAddress: from,
    });
    socket.on('error', () => undefined);
    clients.push(socket);
    await until(() => kept.length + refused.length === clients.length);
    return socket;
  };
  beforeEach(() => {
    [clients, kept, refused] = [[], [], []];
  });
  afterEach(async () => {
    for (const socket of [...clients, ...kept]) socket.destroy();
    await new Promise((done) => server.close(done));
  });

  it('closes the connections of a source past its cap as they arrive, leaving other sources alone', async () => {
    await listen(limits(2));
    await open('127.0.0.1');
    await open('127.0.0.1');
    const third = await open('127.0.0.1');
    expect(refused).toEqual(['per_source']);
    await new Promise((closed) => (third.closed ? closed(undefined) : third.once('close', closed)));
    await open('127.0.0.3');
    expect(kept).toHaveLength(3);
  });

  it('frees a place when a connection closes', async () => {
    await listen(limits(1));
    await open('127.0.0.1');
    const closed = new Promise((done) => kept[0]!.once('close', done));
    kept[0]!.destroy();
    await closed;
    await open('127.0.0.1');
    expect(refused).toEqual([]);
  });

  it('does not cap a trusted proxy, which carries many clients', async () => {
    await listen(limits(1), ['127.0.0.0/8']);
    for (let i = 0; i < 3; i++) await open('127.0.0.1');
    expect(refused).toEqual([]);
  });
});
