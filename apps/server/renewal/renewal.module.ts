import { Module } from '@nestjs/common';
import { RenewalRepository, type Database } from '@libs/persistence';
import { DATABASE } from '../database/database.module';
import { IdentityModule } from '../identity/identity.module';
import { RenewalController } from './renewal.controller';
import { RenewalService } from './renewal.service';

@Module({
  imports: [IdentityModule],
  controllers: [RenewalController],
  providers: [
    RenewalService,
    { provide: RenewalRepository, inject: [DATABASE], useFactory: (db: Database) => new RenewalRepository(db) },
  ],
})
export class RenewalModule {}
