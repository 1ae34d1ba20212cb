import { sign, verify, type KeyObject } from 'node:crypto';
import { children, content, DerError, readRoot, sequence, TAG, unsignedInteger, expect as expectTag } from './der';

/**
 * How node:crypto signs and verifies the JWS algorithms attestd makes or
 * checks by hand (RFC 7518 §3): the digest, and for ECDSA the r||s form
 * (IEEE P1363) JWS uses instead of DER, each half as long as the curve's
 * order. One table, so the JWT-SVID signer and the proof-of-possession check
 * cannot disagree on an algorithm.
 */
export const JWS_ALGORITHMS = {
  ES256: { hash: 'sha256', ecdsaHalfBytes: 32, signatureBytes: 64 },
  ES384: { hash: 'sha384', ecdsaHalfBytes: 48, signatureBytes: 96 },
  RS256: { hash: 'sha256', ecdsaHalfBytes: undefined, signatureBytes: undefined },
} as const;

export type JwsAlgorithm = keyof typeof JWS_ALGORITHMS;

export function isJwsAlgorithm(alg: string): alg is JwsAlgorithm {
  return Object.hasOwn(JWS_ALGORITHMS, alg);
}

// node:crypto takes the r||s form through an options object
// (`{ key, dsaEncoding: 'ieee-p1363' }`), and for every such object it runs
// a KeyObject brand check that throws and catches: about 23 µs of an 80 µs
// P-256 verification (Node 24, measured). Given a bare KeyObject it skips
// that, so the two forms are converted here, between DER's
// SEQUENCE { INTEGER r, INTEGER s } and r||s, which is a few byte copies.

/** A JWS signature over `signingInput` (base64url-decoded form). */
export function jwsSign(algorithm: JwsAlgorithm, signingInput: Buffer, key: KeyObject): Buffer {
  const { hash, ecdsaHalfBytes } = JWS_ALGORITHMS[algorithm];
  const signature = sign(hash, signingInput, key);
  return ecdsaHalfBytes === undefined ? signature : p1363FromDer(signature, ecdsaHalfBytes);
}

/** Whether `signature` (decoded) is `key`'s over `signingInput`; malformed signatures do not verify. */
export function jwsVerifies(algorithm: JwsAlgorithm, signingInput: Buffer, key: KeyObject, signature: Buffer): boolean {
  const { hash, ecdsaHalfBytes, signatureBytes } = JWS_ALGORITHMS[algorithm];
  if (signatureBytes !== undefined && signature.length !== signatureBytes) return false;
  try {
    return verify(hash, signingInput, key, ecdsaHalfBytes === undefined ? signature : derFromP1363(signature));
  } catch {
    return false; // OpenSSL refusing the signature bytes is a failed check, not a fault
  }
}

/** r||s, each half as long as the curve's order, as DER's SEQUENCE { INTEGER r, INTEGER s }. */
export function derFromP1363(signature: Buffer): Buffer {
  const half = signature.length / 2;
  return sequence(unsignedInteger(signature.subarray(0, half)), unsignedInteger(signature.subarray(half)));
}

/** DER's SEQUENCE { INTEGER r, INTEGER s } as r||s, each left-padded to `halfBytes`. */
export function p1363FromDer(der: Buffer, halfBytes: number): Buffer {
  const parts = children(der, readRoot(der, TAG.SEQUENCE));
  if (parts.length !== 2) throw new DerError('an ECDSA signature is two INTEGERs');
  const out = Buffer.alloc(2 * halfBytes);
  parts.forEach((part, i) => {
    let value = content(der, expectTag(part, TAG.INTEGER));
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > halfBytes) throw new DerError('an ECDSA signature half is longer than the curve order');
    value.copy(out, (i + 1) * halfBytes - value.length);
  });
  return out;
}
