import { importJWK, type JWK, type JSONWebKeySet } from 'jose';
import type { AzureKeySource } from '../azure/ports';

/** A public key as jose imported it. */
export type VerificationKey = Awaited<ReturnType<typeof importJWK>>;

/** Unknown `kid`s refetch a tenant's keys at most this often (attestors.md). */
export const REFRESH_INTERVAL_MS = 60_000;

interface TenantKeys {
  keys: Map<string, VerificationKey>;
  fetchedAt: number;
}

/**
 * The Entra signing keys of each tenant, fetched on first use and kept.
 * A `kid` the cached set lacks refetches the set (Entra rolls keys), but at
 * most once a minute per tenant, so a stream of tokens with made-up `kid`s
 * cannot make the server hammer the authority. Concurrent fetches of one
 * tenant share one request; a failed fetch is not remembered.
 */
export class SigningKeys {
  private readonly tenants = new Map<string, TenantKeys>();
  private readonly inFlight = new Map<string, Promise<TenantKeys>>();

  constructor(
    private readonly source: AzureKeySource,
    private readonly now: () => number = Date.now,
  ) {}

  /** The RSA key `kid` names in the tenant's set, or null when there is none (after at most one refetch). */
  async key(tenantId: string, kid: string): Promise<VerificationKey | null> {
    let tenant = this.tenants.get(tenantId) ?? (await this.fetch(tenantId));
    if (!tenant.keys.has(kid) && this.now() - tenant.fetchedAt >= REFRESH_INTERVAL_MS) tenant = await this.fetch(tenantId);
    return tenant.keys.get(kid) ?? null;
  }

  private fetch(tenantId: string): Promise<TenantKeys> {
    const running = this.inFlight.get(tenantId);
    if (running) return running;
    const promise = (async () => {
      try {
        const keys = await importRsaKeys(await this.source.fetchKeys(tenantId));
        const tenant = { keys, fetchedAt: this.now() };
        this.tenants.set(tenantId, tenant);
        return tenant;
      } finally {
        this.inFlight.delete(tenantId);
      }
    })();
    this.inFlight.set(tenantId, promise);
    return promise;
  }
}

/** RSA signature keys with a `kid`; anything else in the set (encryption keys, EC, broken entries) is skipped. */
async function importRsaKeys(set: JSONWebKeySet): Promise<Map<string, VerificationKey>> {
  const keys = new Map<string, VerificationKey>();
  for (const jwk of Array.isArray(set?.keys) ? set.keys : []) {
    if (!usableRsaKey(jwk)) continue;
    try {
      keys.set(jwk.kid!, await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, 'RS256'));
    } catch {
      // a malformed entry must not hide the good ones
    }
  }
  return keys;
}

function usableRsaKey(jwk: JWK): boolean {
  return jwk.kty === 'RSA' && typeof jwk.kid === 'string' && jwk.kid.length > 0 && (jwk.use === undefined || jwk.use === 'sig') && typeof jwk.n === 'string' && typeof jwk.e === 'string';
}
