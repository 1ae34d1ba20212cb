import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { SpiffeBundle } from '../../../libs/pki';
import { PublicRoute } from '../admin/admin-auth.guard';
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
          x5c: { type: 'array', items: { type: 'string', description: 'base64 DER of one CA certificate' }, minItems: 1, maxItems: 1 },
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
@ApiTags('Trust bundle')
@Controller()
export class BundleController {
  constructor(private readonly identity: IdentityService) {}

  /** The trust bundle: the CA certificates SVIDs chain to (the signing one first), as PEM. */
  @Get('v1/bundle')
  @Header('content-type', 'application/x-pem-file')
  @ApiOperation({ summary: 'Trust bundle: the CA certificates SVIDs chain to, PEM' })
  @ApiProduces('application/x-pem-file')
  @ApiOkResponse({ description: 'PEM certificates, the signing CA first', schema: { type: 'string' } })
  bundle(): string {
    return this.identity.bundlePem();
  }

  /**
   * The SPIFFE bundle endpoint: the same authorities and the JWT-SVID keys
   * as a SPIFFE bundle (a JWK Set). Cached no longer than its refresh hint.
   */
  @Get(SPIFFE_BUNDLE_PATH)
  @ApiOperation({ summary: 'SPIFFE bundle endpoint: X.509 and JWT authorities of the trust domain, for federation (SPIRE https_web)' })
  @ApiOkResponse({ description: 'the trust domain bundle in the SPIFFE Trust Domain and Bundle format', schema: SPIFFE_BUNDLE_SCHEMA })
  spiffeBundle(@Res({ passthrough: true }) reply: FastifyReply): SpiffeBundle {
    const bundle = this.identity.spiffeBundle();
    reply.header('content-type', 'application/json');
    reply.header('cache-control', `public, max-age=${bundle.spiffe_refresh_hint}`);
    return bundle;
  }
}
