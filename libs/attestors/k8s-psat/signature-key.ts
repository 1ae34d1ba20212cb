import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/** The two algorithms Kubernetes signs service-account tokens with that we accept. */
export type PsatAlgorithm = 'RS256' | 'ES256';

/** Kubernetes generates 2048-bit service-account keys; shorter ones are forgeable. */
const MIN_RSA_BITS = 2048;

/** One usable key of a cluster's JWKS. */
export interface SignatureKey {
  kid: string;
  alg: PsatAlgorithm;
  key: KeyObject;
}

/**
 * A JWKS entry as a verification key, or the reason it is not one: RSA
 * (RS256) or EC P-256 (ES256) signature keys with a `kid`, public only.
 * node:crypto imports it synchronously, so a pushed document is checked
 * before it is stored.
 */
export function signatureKeyOf(jwk: unknown): SignatureKey | string {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'is not a JSON object';
  const k = jwk as JWK;
  if (typeof k.kid !== 'string' || k.kid.length === 0 || k.kid.length > 256) return 'has no kid';
  if (k.use !== undefined && k.use !== 'sig') return `kid ${k.kid}: use ${JSON.stringify(k.use)} is not "sig"`;
  if (k.d !== undefined) return `kid ${k.kid}: is a private key; publish only the public key`;
  const alg = algorithmOf(k);
  if (!alg) return `kid ${k.kid}: only RSA (RS256) and EC P-256 (ES256) keys are allowed`;
  try {
    const key = createPublicKey({ key: publicMembers(k, alg), format: 'jwk' });
    if (alg === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS)
      return `kid ${k.kid}: RSA keys must have at least ${MIN_RSA_BITS} bits`;
    return { kid: k.kid, alg, key };
  } catch {
    return `kid ${k.kid}: is not a valid ${alg} public key`;
  }
}

function algorithmOf(jwk: JWK): PsatAlgorithm | undefined {
  if (jwk.kty === 'RSA' && (jwk.alg === undefined || jwk.alg === 'RS256')) return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && (jwk.alg === undefined || jwk.alg === 'ES256')) return 'ES256';
  return undefined;
}

/** Only the members node:crypto needs: nothing else of the entry reaches the importer. */
function publicMembers(
  jwk: JWK,
  alg: PsatAlgorithm,
): { kty: string; n?: string; e?: string; crv?: string; x?: string; y?: string } {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return alg === 'RS256'
    ? { kty: 'RSA', n: text(jwk.n), e: text(jwk.e) }
    : { kty: 'EC', crv: 'P-256', x: text(jwk.x), y: text(jwk.y) };
}

/** The usable keys of a fetched set by kid; unusable entries are skipped so one bad key hides no good one. */
export function usableKeys(set: unknown): Map<string, SignatureKey> {
  const keys = new Map<string, SignatureKey>();
  const entries = (set as { keys?: unknown } | null)?.keys;
  for (const jwk of Array.isArray(entries) ? entries : []) {
    const key = signatureKeyOf(jwk);
    if (typeof key !== 'string') keys.set(key.kid, key);
  }
  return keys;
}
