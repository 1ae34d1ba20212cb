import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { storedKey, type KeyCustody } from './key-custody';
import type { KeyKind } from './rotating-keys';
import type { KeyLog } from './key-store';

export const JWT_PURPOSE = 'jwt-svid';

export type JwtAlgorithm = 'RS256' | 'ES256';

export interface LoadedJwtKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
}

export interface JwtKeyOptions {
  algorithm: JwtAlgorithm;
  jwtKeyRotationSeconds: number;
  jwtSvidTtlSeconds: number;
  custody: KeyCustody;
  log: KeyLog;
}

/** The JWT-SVID signing keys, published as a JWKS with their thumbprint as `kid`. */
export function jwtKeys(options: JwtKeyOptions): KeyKind<LoadedJwtKey> {
  const alg = options.algorithm;
  return {
    purpose: JWT_PURPOSE,
    idPrefix: `${JWT_PURPOSE}/${alg}`,
    algorithm: alg,
    periodSeconds: options.jwtKeyRotationSeconds,
    async make(id, activatesAt) {
      const { privateKey, publicKey } =
        alg === 'RS256'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const exported = publicKey.export({ format: 'jwk' }) as JWK;
      const kid = await calculateJwkThumbprint(exported, 'sha256');
      const publicJwk: JWK = { ...exported, kid, alg, use: 'sig' };
      const sealed = options.custody.seal(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      // Tokens signed up to the end of its period live jwtSvidTtl longer.
      const notAfter = new Date(
        activatesAt.getTime() + (options.jwtKeyRotationSeconds + options.jwtSvidTtlSeconds) * 1000,
      );
      options.log.info(
        { keyId: id, kid, alg, activatesAt: activatesAt.toISOString(), notAfter: notAfter.toISOString() },
        'identity: JWT-SVID key made',
      );
      return storedKey(
        { id, purpose: JWT_PURPOSE, algorithm: alg, certificate: null, publicJwk, notBefore: activatesAt, notAfter },
        sealed,
      );
    },
    open(stored, pem) {
      const privateKey = createPrivateKey(pem);
      const publicJwk = stored.publicJwk as JWK;
      // The stored JWK must be this private key's public half.
      const derived = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
      if (derived.n !== publicJwk.n || derived.x !== publicJwk.x || derived.y !== publicJwk.y) {
        throw new Error(`identity: stored public key of ${stored.id} does not match its private key`);
      }
      return { kid: String(publicJwk.kid), alg: stored.algorithm, privateKey, publicJwk };
    },
  };
}
