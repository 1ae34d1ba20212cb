import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Logger } from 'pino';
import type { Attestor } from '@libs/attestors/attestor';
import { AdminModule } from './admin/admin.module';
import { AttestorsModule } from './attestors.module';
import { ConfigDocumentsModule } from './config-documents/config-documents.module';
import { DatabaseModule } from './database/database.module';
import { HealthController } from './health.controller';
import { ProblemFilter } from './http/problem.filter';
import { IdentityModule } from './identity/identity.module';
import { LoginModule } from './login/login.module';
import { OidcModule } from './oidc/oidc.module';
import { RenewalModule } from './renewal/renewal.module';
import { RetentionModule } from './retention/retention.module';
import type { Settings } from './settings/settings';
import { SettingsModule } from './settings/settings.module';
import { ShutdownLog } from './shutdown-log';
import { StartResourcesModule, type StartResources } from './start-resources';
import { TelemetryModule } from './telemetry/telemetry.module';

@Module({})
export class AppModule {
  static forRoot(
    settings: Settings,
    logger: Logger,
    additionalAttestors: Attestor[],
    resources: StartResources,
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SettingsModule.forRoot(settings, logger),
        StartResourcesModule.forRoot(resources),
        TelemetryModule,
        DatabaseModule,
        AttestorsModule.forRoot(additionalAttestors),
        ConfigDocumentsModule,
        IdentityModule,
        AdminModule,
        LoginModule,
        RenewalModule,
        OidcModule,
        RetentionModule,
      ],
      controllers: [HealthController],
      providers: [{ provide: APP_FILTER, useClass: ProblemFilter }, ShutdownLog],
    };
  }
}
