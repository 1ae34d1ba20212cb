import { Injectable } from '@nestjs/common';
import type { JWK } from 'jose';
import { JwtSvidSigner, TrustDomainKeys } from '@libs/keys';
import type { CertificateAuthority, SpiffeBundle } from '@libs/pki';
import { LoginIdCodec } from '@libs/login';
import { AdminActorIds } from './admin-actor-ids';

export { IDENTITY_CLOCK, type Clock } from './identity.providers';

/**
 * The identity pieces under the one name the login, renewal, OIDC and
 * admin services know: the trust domain's rotating keys
 * (`TrustDomainKeys`), the JWT-SVID signer, the login-ID codec and the
 * admin-actor IDs, each its own provider. It holds no state; new code
 * injects the piece it needs.
 */
@Injectable()
export class IdentityService {
  constructor(
    readonly keys: TrustDomainKeys,
    private readonly jwtSigner: JwtSvidSigner,
    readonly loginIds: LoginIdCodec,
    private readonly actorIds: AdminActorIds,
  ) {}

  now(): Date {
    return this.keys.now();
  }

  rotate(): Promise<void> {
    return this.keys.rotate();
  }

  /** The CA that signs X.509-SVIDs now; its `bundlePem()` is the whole trust bundle. */
  get ca(): CertificateAuthority {
    return this.keys.ca;
  }

  /** When the signing CA's certificate expires; undefined before the first rotation. */
  caNotAfter(): Date | undefined {
    return this.keys.caNotAfter();
  }

  /** When the signing JWT-SVID key leaves `/keys`; undefined before the first rotation. */
  jwtKeyNotAfter(): Date | undefined {
    return this.keys.jwtKeyNotAfter();
  }

  /** When the CA and the JWT-SVID key that sign now expire (their notAfter), for the expiry gauges. */
  signingKeyExpiry(): { ca?: Date; jwt?: Date } {
    return { ca: this.keys.caNotAfter(), jwt: this.keys.jwtKeyNotAfter() };
  }

  spiffeBundle(): SpiffeBundle {
    return this.keys.spiffeBundle();
  }

  bundlePems(): string[] {
    return this.keys.bundlePems();
  }

  bundlePem(): string {
    return this.keys.bundlePem();
  }

  jwks(): { keys: JWK[] } {
    return this.keys.jwks();
  }

  jwtAlgorithms(): string[] {
    return this.keys.jwtAlgorithms();
  }

  signJwtSvid(claims: { sub: string; aud: string[] }, now: Date): Promise<{ token: string; expiresAt: Date }> {
    return this.jwtSigner.sign(claims, now);
  }

  adminActorId(tokenHash: Buffer): string {
    return this.actorIds.of(tokenHash);
  }
}
