import type { KeyObject } from 'node:crypto';
import { isJwsAlgorithm, jwsSign } from '@libs/pki';
import type { LoadedJwtKey } from './jwt-keys';
import type { RotatingKeys } from './rotating-keys';

export interface JwtSvidSettings {
  jwtIssuer: string;
  jwtSvidTtlSeconds: number;
}

/** Signs JWT-SVIDs with the JWT key that signs now. */
export class JwtSvidSigner {
  constructor(
    private readonly keys: RotatingKeys<LoadedJwtKey>,
    private readonly settings: JwtSvidSettings,
  ) {}

  /**
   * `exp` is capped at the key's notAfter, so the key stays in the JWKS
   * until every token it signed expired.
   */
  async sign(claims: { sub: string; aud: string[] }, now: Date): Promise<{ token: string; expiresAt: Date }> {
    const current = this.keys.current(now);
    if (!current) throw new Error('identity: no JWT-SVID key is loaded');
    const { key, notAfter } = current;
    const iat = Math.floor(now.getTime() / 1000);
    const exp = Math.min(iat + this.settings.jwtSvidTtlSeconds, Math.floor(notAfter.getTime() / 1000));
    const payload = { iss: this.settings.jwtIssuer, sub: claims.sub, aud: claims.aud, iat, exp };
    const token = compactJws({ alg: key.alg, kid: key.kid, typ: 'JWT' }, payload, key.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }
}

/**
 * Signed with node:crypto rather than jose's SignJWT: jose imports the key
 * into WebCrypto and signs in an async job on the thread pool, which adds
 * about 40 µs of CPU to each JWT-SVID. The keys are only RS256 or ES256
 * (jwt-keys.ts), and a compact JWS is three base64url parts.
 */
function compactJws(header: { alg: string; kid: string; typ: string }, payload: object, key: KeyObject): string {
  if (!isJwsAlgorithm(header.alg)) throw new Error(`identity: cannot sign JWT with ${header.alg}`);
  const signingInput = `${encode(header)}.${encode(payload)}`;
  const signature = jwsSign(header.alg, Buffer.from(signingInput), key);
  return `${signingInput}.${signature.toString('base64url')}`;
}

function encode(part: object): string {
  return Buffer.from(JSON.stringify(part)).toString('base64url');
}
