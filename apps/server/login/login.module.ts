import { Module } from '@nestjs/common';
import { IdentityModule } from '../identity/identity.module';
import { LoginController } from './login.controller';
import { LoginService } from './login.service';

@Module({
  imports: [IdentityModule],
  controllers: [LoginController],
  providers: [LoginService],
})
export class LoginModule {}
