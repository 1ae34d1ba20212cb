import { Controller, Get, Header } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { PublicRoute } from '../admin/admin-auth.guard';
import { ApiRoute } from '../http/openapi-route';
import { IdentityService } from './identity.service';

@PublicRoute()
@ApiTags('Open endpoints')
@Controller('v1/bundle')
export class BundleController {
  constructor(private readonly identity: IdentityService) {}

  /** The trust bundle: the CA certificates SVIDs chain to (the signing one first), as PEM. */
  @Get()
  @ApiRoute({
    summary: 'The trust bundle',
    description: 'The CA certificates that X.509-SVIDs chain to, the signing one first, then the next and retired ones that are still in use.',
    access: 'public',
    answer: { content: { 'application/x-pem-file': { schema: { type: 'string' } } } },
    answerDescription: 'CA certificates, PEM',
  })
  @Header('content-type', 'application/x-pem-file')
  bundle(): string {
    return this.identity.bundlePem();
  }
}
