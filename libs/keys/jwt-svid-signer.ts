import { SignJWT, type JWTPayload } from 'jose';
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
    const payload: JWTPayload = { iss: this.settings.jwtIssuer, sub: claims.sub, aud: claims.aud, iat, exp };
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }
}
