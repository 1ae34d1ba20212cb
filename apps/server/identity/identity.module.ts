import { Module } from '@nestjs/common';
import { JwtSvidSigner, TrustDomainKeys } from '@libs/keys';
import { LoginIdCodec } from '@libs/login';
import { AdminActorIds } from './admin-actor-ids';
import { BundleController } from './bundle.controller';
import { identityProviders } from './identity.providers';
import { IdentityService } from './identity.service';
import { KeyRotationTimer } from './key-rotation-timer';

@Module({
  controllers: [BundleController],
  providers: [...identityProviders, KeyRotationTimer, IdentityService],
  exports: [IdentityService, TrustDomainKeys, JwtSvidSigner, LoginIdCodec, AdminActorIds],
})
export class IdentityModule {}
