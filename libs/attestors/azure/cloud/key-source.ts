import type { JSONWebKeySet } from 'jose';
import { DependencyUnavailable } from '../../attestor';
import type { CloudStats } from '../../aws/cloud/stats';
import { NO_STATS } from '../../aws/cloud/stats';
import type { AzureKeySource } from '../ports';
import { fetchJsonObject } from '../../bounded-fetch';
import { AZURE_SERVICES } from './errors';

export interface KeySourceOptions {
  /** `azure.authorityHost`, e.g. `https://login.microsoftonline.com` */
  authorityHost: string;
  stats?: CloudStats;
  /** per request; default 5 s */
  timeoutMs?: number;
}

/** OpenID metadata and key sets are a few KiB; more is not Entra. */
const MAX_BYTES = 256 * 1024;

/**
 * Entra's keys for a tenant: the v2.0 OpenID metadata, then its `jwks_uri`.
 * No redirects, a deadline, a size cap while reading; an answer that is not the expected
 * JSON, or no answer, is DependencyUnavailable (503): without keys the
 * server cannot verify anything for that tenant.
 */
export function createAzureKeySource(options: KeySourceOptions): AzureKeySource {
  const authority = options.authorityHost.replace(/\/+$/, '');
  const stats = options.stats ?? NO_STATS;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const get = (operation: string, url: string) =>
    getJson(url, timeoutMs).then(
      (body) => (stats.request(AZURE_SERVICES.entra, operation, 'success'), body),
      (error: unknown) => {
        stats.request(AZURE_SERVICES.entra, operation, 'failure');
        throw new DependencyUnavailable(
          `azure: ${operation} unavailable at ${new URL(url).origin}: ${(error as Error).message}`,
        );
      },
    );
  return {
    async fetchKeys(tenantId) {
      const metadata = await get(
        'openid-configuration',
        `${authority}/${encodeURIComponent(tenantId)}/v2.0/.well-known/openid-configuration`,
      );
      const jwksUri = (metadata as { jwks_uri?: unknown }).jwks_uri;
      if (typeof jwksUri !== 'string' || !jwksUri.startsWith('https://')) {
        throw new DependencyUnavailable(`azure: the OpenID metadata of tenant ${tenantId} has no https jwks_uri`);
      }
      const jwks = (await get('jwks', jwksUri)) as Partial<JSONWebKeySet>;
      if (!Array.isArray(jwks.keys))
        throw new DependencyUnavailable(`azure: the key set of tenant ${tenantId} has no keys`);
      return jwks as JSONWebKeySet;
    },
  };
}

function getJson(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return fetchJsonObject(url, { timeoutMs, maxBytes: MAX_BYTES, accept: 'application/json' });
}
