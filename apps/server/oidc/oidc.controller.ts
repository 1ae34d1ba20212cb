import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { JWK } from 'jose';
import { jwksAnswer, openIdConfigurationAnswer } from '@libs/contracts/answer-schemas';
import { PublicRoute } from '../admin/admin-auth.guard';
import { ApiRoute } from '../http/openapi-route';
import { IdentityService } from '../identity/identity.service';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';

/**
 * OIDC discovery for JWT-SVIDs: what a relying party such as AWS STS
 * (AssumeRoleWithWebIdentity, an IAM OIDC identity provider) fetches to
 * verify them. The issuer is `jwtIssuer`; `jwks_uri` lives under it.
 */
@PublicRoute()
@ApiTags('Open endpoints')
@Controller()
export class OidcController {
  constructor(
    private readonly identity: IdentityService,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  @Get('.well-known/openid-configuration')
  @Header('cache-control', 'public, max-age=300')
  @ApiRoute({
    summary: 'OIDC discovery',
    description:
      'OpenID provider metadata for JWT-SVIDs: the issuer (`jwtIssuer`) and `jwks_uri`, which is `<issuer>/keys`. AWS STS and other relying parties fetch it over https.',
    access: 'public',
    answer: openIdConfigurationAnswer,
  })
  configuration(): Record<string, unknown> {
    const issuer = this.settings.jwtIssuer;
    return {
      issuer,
      jwks_uri: `${issuer.replace(/\/+$/, '')}/keys`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: this.identity.jwtAlgorithms(),
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss'],
      scopes_supported: ['openid'],
    };
  }

  @Get('keys')
  @Header('cache-control', 'public, max-age=300')
  @ApiRoute({
    summary: 'JWT-SVID keys (JWKS)',
    description:
      'The public keys JWT-SVIDs are signed with: the signing key, the next one (published half a rotation period ahead), and retired ones whose tokens may still be valid.',
    access: 'public',
    answer: jwksAnswer,
  })
  keys(): { keys: JWK[] } {
    return this.identity.jwks();
  }
}
