import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DependencyUnavailable } from '../attestor';
import type { StsRequest, StsSender } from '../aws/ports';

export interface StsSenderOptions {
  timeoutMs: number;
  maxBytes: number;
  /**
   * Where to send instead of the request's own STS URL, as the SDKs'
   * AWS_ENDPOINT_URL_STS does (a VPC endpoint, or the simulator in tests).
   * The vetted request, Host header included, is sent unchanged.
   */
  endpointOverride?: string;
}

/**
 * Sends an agent's vetted GetCallerIdentity to STS: node:http(s) because
 * the signed Host header must go out as signed (fetch cannot set Host); no
 * redirect is followed; the answer is bounded in time and size.
 */
export function createStsSender(options: StsSenderOptions): StsSender {
  return {
    send(sts: StsRequest) {
      const target = new URL(options.endpointOverride ?? sts.url);
      const request = target.protocol === 'http:' ? httpRequest : httpsRequest;
      return new Promise((resolve, reject) => {
        // `timeout` below only notices an idle socket; this bounds the whole
        // exchange, so a body trickled forever ends too
        const deadline = setTimeout(
          () => outgoing.destroy(new Error(`no complete answer within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
        const fail = (error: DependencyUnavailable) => {
          clearTimeout(deadline);
          reject(error);
        };
        const outgoing = request(
          {
            protocol: target.protocol,
            hostname: target.hostname,
            port: target.port,
            path: '/',
            method: 'POST',
            headers: { ...sts.headers, 'content-length': String(Buffer.byteLength(sts.body)) },
            timeout: options.timeoutMs,
          },
          (response) => {
            const chunks: Buffer[] = [];
            let size = 0;
            response.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size > options.maxBytes) {
                // hang up at the cap: an endless answer is never read to its end
                outgoing.destroy();
                fail(new DependencyUnavailable(`aws: sts answer exceeds ${options.maxBytes} bytes`));
              } else chunks.push(chunk);
            });
            response.on('end', () => {
              clearTimeout(deadline);
              resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
            });
            response.on('error', (error) =>
              fail(new DependencyUnavailable(`aws: sts answer failed: ${error.message}`)),
            );
          },
        );
        outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
        outgoing.on('error', (error) =>
          fail(new DependencyUnavailable(`aws: sts:GetCallerIdentity unreachable: ${error.message}`)),
        );
        outgoing.end(sts.body);
      });
    },
  };
}
