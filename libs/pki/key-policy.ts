import type { KeyObject } from 'node:crypto';
import { keyDetailsOf } from './spki';

// Which subject keys an SVID may certify. One place, so the CSR parser and
// the issuer cannot drift apart.
//
// EC P-256/P-384 and RSA 2048..8192: what SPIRE agents and common TLS stacks
// use. P-521, Ed25519 and RSA-PSS-only keys are refused because some SPIFFE
// consumers (Envoy's defaults, older Java) do not accept them. The RSA upper
// bound stops a client making us verify a signature with a huge modulus.

export const MIN_RSA_BITS = 2048;
export const MAX_RSA_BITS = 8192;

const CURVES: Record<string, string> = { prime256v1: 'ec-p256', secp384r1: 'ec-p384' };

/**
 * A label like `ec-p256` or `rsa-3072` for an acceptable key, else a reason
 * it is refused. `spki`: the bytes the key was read from, if at hand (see
 * keyDetailsOf).
 */
export function classifyPublicKey(
  key: KeyObject,
  spki?: Buffer,
): { ok: true; algorithm: string } | { ok: false; reason: string } {
  if (key.type !== 'public') return { ok: false, reason: 'not a public key' };
  const details = keyDetailsOf(key, spki);
  if (details.type === 'ec') {
    const label = details.namedCurve !== undefined ? CURVES[details.namedCurve] : undefined;
    if (label === undefined)
      return {
        ok: false,
        reason: `EC curve ${details.namedCurve ?? '(explicit parameters)'} is not accepted; use P-256 or P-384`,
      };
    return { ok: true, algorithm: label };
  }
  if (details.type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS)
      return { ok: false, reason: `RSA key of ${bits} bits is too small; at least ${MIN_RSA_BITS} required` };
    if (bits > MAX_RSA_BITS)
      return { ok: false, reason: `RSA key of ${bits} bits is too large; at most ${MAX_RSA_BITS} accepted` };
    return { ok: true, algorithm: `rsa-${bits}` };
  }
  return {
    ok: false,
    reason: `key type ${details.type ?? 'unknown'} is not accepted; use EC P-256, P-384 or RSA`,
  };
}
