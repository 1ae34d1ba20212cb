import { Controller, Get, Header } from '@nestjs/common';
import { PublicRoute } from '../admin/admin-auth.guard';
import { TrustDomainKeys } from '../../../libs/keys';

@PublicRoute()
@Controller('v1/bundle')
export class BundleController {
  constructor(private readonly keys: TrustDomainKeys) {}

  /** The trust bundle: the CA certificates SVIDs chain to (the signing one first), as PEM. */
  @Get()
  @Header('content-type', 'application/x-pem-file')
  bundle(): string {
    return this.keys.bundlePem();
  }
}
