import { DependencyUnavailable } from '../../attestor';
import { fetchJsonObject } from '../../bounded-fetch';
import type { CloudStats } from '../../aws/cloud/stats';
import { NO_STATS } from '../../aws/cloud/stats';
import type { JwksSource } from '../remote-keys';

/** Key sets are a few KiB; more is not an API server's JWKS. */
const MAX_BYTES = 256 * 1024;
/** the `service` label of the cloud request metrics */
export const KUBERNETES_SERVICE = 'kubernetes';

/**
 * A cluster's JWKS over https: no redirects, a deadline, a size cap enforced
 * while reading. No answer, or an answer that is not a key set, is
 * DependencyUnavailable (503): without keys no token of that cluster can be
 * verified.
 */
export function createJwksSource(options: { stats?: CloudStats; timeoutMs?: number } = {}): JwksSource {
  const stats = options.stats ?? NO_STATS;
  const timeoutMs = options.timeoutMs ?? 5_000;
  return {
    async fetchKeys(jwksUri) {
      try {
        const set = await getKeySet(jwksUri, timeoutMs);
        stats.request(KUBERNETES_SERVICE, 'jwks', 'success');
        return set;
      } catch (error) {
        stats.request(KUBERNETES_SERVICE, 'jwks', 'failure');
        throw new DependencyUnavailable(
          `k8s_psat: jwks unavailable at ${new URL(jwksUri).origin}: ${(error as Error).message}`,
        );
      }
    },
  };
}

async function getKeySet(url: string, timeoutMs: number): Promise<unknown> {
  const body = await fetchJsonObject(url, {
    timeoutMs,
    maxBytes: MAX_BYTES,
    accept: 'application/json, application/jwk-set+json',
  });
  if (!Array.isArray(body.keys)) throw new Error('answer is not a JWK set');
  return body;
}
