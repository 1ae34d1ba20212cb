import { createHash, randomBytes, type webcrypto } from 'node:crypto';
import { CompactSign } from 'jose';
import type { ProofOfPossessionClaims } from '@libs/contracts/agent-api';
import { POP_ALGORITHM } from './held-svid';

/**
 * The JWS by which the agent proves it holds its SVID's key (`api.md`,
 * "renew"): `{ aud, iat, jti[, csr_sha256] }`, header `alg` only (attestd
 * takes the key from the certificate and refuses headers that name one).
 * A fresh `jti` every time: attestd accepts each once.
 */
export async function signProofOfPossession(
  privateKey: webcrypto.CryptoKey,
  audience: ProofOfPossessionClaims['aud'],
  options: { nowMs?: number; csrPem?: string } = {},
): Promise<string> {
  const claims: ProofOfPossessionClaims = {
    aud: audience,
    iat: Math.floor((options.nowMs ?? Date.now()) / 1000),
    jti: randomBytes(16).toString('base64url'),
  };
  if (options.csrPem !== undefined) claims.csr_sha256 = csrSha256(options.csrPem);
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: POP_ALGORITHM })
    .sign(privateKey);
}

/** base64url SHA-256 of the DER inside a PEM CSR. */
export function csrSha256(csrPem: string): string {
  const base64 = csrPem.replace(/-----(BEGIN|END) CERTIFICATE REQUEST-----/g, '').replace(/\s+/g, '');
  return createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64url');
}
