import { Module } from '@nestjs/common';
import { BundleController } from './bundle.controller';
import { IdentityService } from './identity.service';

@Module({
  controllers: [BundleController],
  providers: [IdentityService],
  exports: [IdentityService],
})
export class IdentityModule {}
