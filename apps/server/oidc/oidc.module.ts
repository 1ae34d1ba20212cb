import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module';
import { OidcController } from './oidc.controller';

@Module({
  imports: [IdentityModule],
  controllers: [OidcController],
})
export class OidcModule {}
