import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { IdentityModule } from '../identity/identity.module';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminTokensService } from './admin-tokens.service';
import { AgentsController } from './agents.controller';
import { AuditController } from './audit.controller';
import { JoinTokensController } from './join-tokens.controller';

@Module({
  imports: [IdentityModule],
  controllers: [AgentsController, AuditController, JoinTokensController],
  providers: [AdminTokensService, { provide: APP_GUARD, useClass: AdminAuthGuard }],
  exports: [AdminTokensService],
})
export class AdminModule {}
