import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { SpiffeBundle } from '@libs/pki';
import { PublicRoute } from '../admin/admin-auth.guard';
import { ApiRoute } from '../http/openapi-route';
import { IdentityService } from './identity.service';

/** Where a federated SPIFFE control plane (a SPIRE server's `bundle_endpoint_url`) fetches the bundle. */
export const SPIFFE_BUNDLE_PATH = '.well-known/spiffe-bundle';

/** The SPIFFE bundle document, for the OpenAPI description. */
const SPIFFE_BUNDLE_SCHEMA = {
  type: 'object',
  required: ['keys', 'spiffe_sequence', 'spiffe_refresh_hint'],
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        required: ['kty', 'use'],
        properties: {
          kty: { type: 'string', enum: ['EC', 'RSA'] },
          use: { type: 'string', enum: ['x509-svid', 'jwt-svid'] },
          x5c: {
            type: 'array',
            items: { type: 'string', description: 'base64 DER of one CA certificate' },
            minItems: 1,
            maxItems: 1,
          },
          kid: { type: 'string', description: 'jwt-svid keys only' },
          crv: { type: 'string' },
          x: { type: 'string' },
          y: { type: 'string' },
          n: { type: 'string' },
          e: { type: 'string' },
        },
      },
    },
    spiffe_sequence: { type: 'integer', minimum: 1, description: 'grows whenever the keys change' },
    spiffe_refresh_hint: { type: 'integer', minimum: 1, description: 'seconds between fetches' },
  },
};

@PublicRoute()
@ApiTags('Open endpoints')
@Controller()
export class BundleController {
  constructor(private readonly identity: IdentityService) {}

  /** The trust bundle: the CA certificates SVIDs chain to (the signing one first), as PEM. */
  @Get('v1/bundle')
  @ApiRoute({
    summary: 'The trust bundle',
    description:
      'The CA certificates that X.509-SVIDs chain to, the signing one first, then the next and retired ones that are still in use.',
    access: 'public',
    answer: { content: { 'application/x-pem-file': { schema: { type: 'string' } } } },
    answerDescription: 'CA certificates, PEM',
  })
  @Header('content-type', 'application/x-pem-file')
  bundle(): string {
    return this.identity.bundlePem();
  }

  /**
   * The SPIFFE bundle endpoint: the same authorities and the JWT-SVID keys
   * as a SPIFFE bundle (a JWK Set). Cached no longer than its refresh hint.
   */
  @Get(SPIFFE_BUNDLE_PATH)
  @ApiRoute({
    summary: 'The SPIFFE bundle endpoint',
    description:
      "The trust domain's X.509 authorities and JWT-SVID keys as a SPIFFE bundle (a JWK Set), for federation: a SPIRE server fetches it with the https_web profile. Cached no longer than its refresh hint.",
    access: 'public',
    answer: SPIFFE_BUNDLE_SCHEMA,
    answerDescription: 'the trust domain bundle in the SPIFFE Trust Domain and Bundle format',
  })
  spiffeBundle(@Res({ passthrough: true }) reply: FastifyReply): SpiffeBundle {
    const bundle = this.identity.spiffeBundle();
    reply.header('content-type', 'application/json');
    reply.header('cache-control', `public, max-age=${bundle.spiffe_refresh_hint}`);
    return bundle;
  }
}
