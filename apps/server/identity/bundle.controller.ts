import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { SpiffeBundle } from '../../../libs/pki';
import { PublicRoute } from '../admin/admin-auth.guard';
import { IdentityService } from './identity.service';

/** Where a federated SPIFFE control plane (a SPIRE server's `bundle_endpoint_url`) fetches the bundle. */
export const SPIFFE_BUNDLE_PATH = '.well-known/spiffe-bundle';

@PublicRoute()
@ApiTags('Trust bundle')
@Controller()
export class BundleController {
  constructor(private readonly identity: IdentityService) {}

  /** The trust bundle: the CA certificates SVIDs chain to (the signing one first), as PEM. */
  @Get('v1/bundle')
  @Header('content-type', 'application/x-pem-file')
  @ApiOperation({ summary: 'Trust bundle: the CA certificates SVIDs chain to, PEM' })
  bundle(): string {
    return this.identity.bundlePem();
  }

  /**
   * The SPIFFE bundle endpoint: the same authorities and the JWT-SVID keys
   * as a SPIFFE bundle (a JWK Set). Cached no longer than its refresh hint.
   */
  @Get(SPIFFE_BUNDLE_PATH)
  @ApiOperation({ summary: 'SPIFFE bundle endpoint: X.509 and JWT authorities of the trust domain, for federation (SPIRE https_web)' })
  spiffeBundle(@Res({ passthrough: true }) reply: FastifyReply): SpiffeBundle {
    const bundle = this.identity.spiffeBundle();
    reply.header('content-type', 'application/json');
    reply.header('cache-control', `public, max-age=${bundle.spiffe_refresh_hint}`);
    return bundle;
  }
}
