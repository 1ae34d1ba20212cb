import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export type ClusterAlgorithm = 'RS256' | 'ES256';

/** A cluster's service-account signing key, made at run time. */
export interface ClusterKey {
  kid: string;
  alg: ClusterAlgorithm;
  privateKey: CryptoKey;
  /** the public JWK as the API server publishes it (`use: sig`, `kid`, `alg`) */
  publicJwk: JWK;
}

export async function generateClusterKey(alg: ClusterAlgorithm = 'RS256'): Promise<ClusterKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), use: 'sig', kid, alg } };
}
