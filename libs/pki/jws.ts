/**
 * How node:crypto signs and verifies the JWS algorithms attestd makes or
 * checks by hand (RFC 7518 §3): the digest, and for ECDSA the r||s form
 * (IEEE P1363) JWS uses instead of DER, each half as long as the curve's
 * order. One table, so the JWT-SVID signer and the proof-of-possession check
 * cannot disagree on an algorithm.
 */
export const JWS_ALGORITHMS = {
  ES256: { hash: 'sha256', dsaEncoding: 'ieee-p1363', signatureBytes: 64 },
  ES384: { hash: 'sha384', dsaEncoding: 'ieee-p1363', signatureBytes: 96 },
  RS256: { hash: 'sha256', dsaEncoding: undefined, signatureBytes: undefined },
} as const;

export type JwsAlgorithm = keyof typeof JWS_ALGORITHMS;

export function isJwsAlgorithm(alg: string): alg is JwsAlgorithm {
  return Object.hasOwn(JWS_ALGORITHMS, alg);
}
