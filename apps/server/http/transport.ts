import { isIP, type Server } from 'node:net';
import type { Logger } from 'pino';
import { asSettingError, type Settings } from '../settings/settings';
import { INSTRUMENTS } from '../telemetry/instruments';
import type { Metrics } from '../telemetry/metrics';
import { capConnections, httpServerOptions, REFUSED_BECAUSE, type RefusedBecause } from './connection-limits';
import { describeCertificate, readTlsPair, reloadTlsOnChange, type TlsPair } from './tls';

/**
 * How the server meets the network: HTTP or HTTPS, timeouts, connection
 * caps, certificate reloads. `fastifyOptions` go to the adapter;
 * `attach` runs on the created server before it listens; `stop` (on close)
 * ends the certificate checks.
 */
export interface Transport {
  readonly fastifyOptions: object;
  readonly scheme: 'http' | 'https';
  attach(server: Server, metrics: Metrics): void;
  stop(): void;
}

export function prepareTransport(settings: Settings, logger: Logger): Transport {
  const { nodeServer, ...fastifyOptions } = httpServerOptions(settings.http);
  const tls = settings.tls;
  const pair: TlsPair | undefined = tls && asSettingError('tls.certFile', () => readTlsPair(tls));
  let reloads: { stop(): void } | undefined;
  return {
    scheme: pair ? 'https' : 'http',
    fastifyOptions: { ...fastifyOptions, ...(pair ? { https: { ...nodeServer, ...pair } } : { http: nodeServer }) },
    attach(server, metrics) {
      const refused = (reason: RefusedBecause, by = 1) =>
        metrics.count(INSTRUMENTS.httpConnectionsRefused, { reason }, by);
      // both series exist from the start, at 0, so rate() and increase() see the first refusal
      for (const reason of REFUSED_BECAUSE) refused(reason, 0);
      capConnections(server, settings.http, settings.trustedProxies, refused);
      if (tls && pair) {
        logger.info({ certFile: tls.certFile, ...describeCertificate(pair.cert) }, 'tls: serving HTTPS');
        reloads = reloadTlsOnChange(
          server as unknown as { setSecureContext(options: TlsPair): void },
          tls,
          pair,
          tls.reloadIntervalSeconds * 1000,
          logger,
        );
      } else if (!isLoopback(settings.listen.host)) {
        logger.warn(
          { listen: `${settings.listen.host}:${settings.listen.port}` },
          'http: serving plain HTTP on an address other than loopback; set tls.certFile and tls.keyFile, or terminate TLS in a proxy in front (trustedProxies)',
        );
      }
    },
    stop: () => reloads?.stop(),
  };
}

/** `localhost`, 127.0.0.0/8 and ::1: only this machine can connect. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}
