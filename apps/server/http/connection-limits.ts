import { BlockList, isIPv4, type Server, type Socket } from 'node:net';
import type { HttpLimits } from '../settings/settings';

/**
 * The HTTP server's own options for `http.*` (Fastify's names): without
 * them Fastify leaves Node's headers and request timeouts off, and a
 * connection that never finishes its headers is kept for ever.
 */
export function httpServerOptions(limits: HttpLimits) {
  const ms = (seconds: number) => seconds * 1000;
  return {
    connectionTimeout: ms(limits.idleTimeoutSeconds),
    keepAliveTimeout: ms(limits.keepAliveTimeoutSeconds),
    requestTimeout: ms(limits.requestTimeoutSeconds),
    maxRequestsPerSocket: limits.maxRequestsPerConnection,
    /** options Fastify passes to `http.createServer` / `https.createServer` as they are */
    nodeServer: {
      headersTimeout: ms(limits.headersTimeoutSeconds),
      requestTimeout: ms(limits.requestTimeoutSeconds),
      // Node looks for connections past these timeouts every 30 s by default, which would stretch a 10 s header timeout to 40 s
      connectionsCheckingInterval: Math.min(1000, ms(limits.headersTimeoutSeconds) / 2),
    },
  };
}

export const REFUSED_BECAUSE = ['max_connections', 'per_source'] as const;
export type RefusedBecause = (typeof REFUSED_BECAUSE)[number];

/**
 * Caps the server's open connections, in all and per source address,
 * closing the ones past a cap as they arrive, before a byte of them is
 * parsed (or, with TLS, before the handshake). Connections from a trusted
 * proxy are not capped per source: they carry many clients, which the rate
 * limit tells apart by X-Forwarded-For.
 */
export function capConnections(
  server: Server,
  limits: Pick<HttpLimits, 'maxConnections' | 'maxConnectionsPerSource'>,
  trustedProxies: readonly string[],
  refused: (because: RefusedBecause) => void,
): void {
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => refused('max_connections'));
  const exempt = blockListOf(trustedProxies);
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const source = sourceAddress(socket.remoteAddress);
    if (source === undefined || exempt.check(source, isIPv4(source) ? 'ipv4' : 'ipv6')) return;
    const count = open.get(source) ?? 0;
    if (count >= limits.maxConnectionsPerSource) {
      socket.destroy();
      refused('per_source');
      return;
    }
    open.set(source, count + 1);
    socket.once('close', () => {
      const left = (open.get(source) ?? 1) - 1;
      if (left === 0) open.delete(source);
      else open.set(source, left);
    });
  });
}

/** An IPv4 client of a dual-stack listener shows as `::ffff:a.b.c.d`; it is the IPv4 address. */
function sourceAddress(remote: string | undefined): string | undefined {
  return remote?.startsWith('::ffff:') && isIPv4(remote.slice(7)) ? remote.slice(7) : remote;
}

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}
