import { importJWK, type JWK, type JSONWebKeySet } from 'jose';
import type { AzureKeySource } from '../azure/ports';
import { KeySetCache } from '../key-set-cache';

/** A public key as jose imported it. */
export type VerificationKey = Awaited<ReturnType<typeof importJWK>>;

export { REFRESH_INTERVAL_MS } from '../key-set-cache';

/** The Entra signing keys of each tenant (see KeySetCache for when they are refetched). */
export class SigningKeys extends KeySetCache<VerificationKey> {
  constructor(source: AzureKeySource, now?: () => number) {
    super(async (tenantId) => importRsaKeys(await source.fetchKeys(tenantId)), now);
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
  return (
    jwk.kty === 'RSA' &&
    typeof jwk.kid === 'string' &&
    jwk.kid.length > 0 &&
    (jwk.use === undefined || jwk.use === 'sig') &&
    typeof jwk.n === 'string' &&
    typeof jwk.e === 'string'
  );
}
