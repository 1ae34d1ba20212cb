import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { StartResources } from '../start-resources';
import {
  AdminTokensRepository,
  AgentsRepository,
  AuditRepository,
  ConfigRepository,
  JoinTokensRepository,
  KeysRepository,
  migrate,
  openDatabase,
  type Database,
} from '@libs/persistence';
import type { Logger } from 'pino';
import { LOGGER } from '../logging/logger';
import { connectionProblem } from './connection-problem';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';

export const DATABASE = Symbol('DATABASE');

const repositories = [
  AdminTokensRepository,
  AgentsRepository,
  AuditRepository,
  ConfigRepository,
  JoinTokensRepository,
  KeysRepository,
];

/**
 * Opens the database and applies pending migrations before anything else
 * starts: a server whose schema is behind its code must not serve.
 */
@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [SETTINGS, LOGGER, StartResources],
      useFactory: async (settings: Settings, logger: Logger, resources: StartResources): Promise<Database> => {
        const db = await openDatabase(settings.database);
        resources.opened(() => db.close());
        try {
          const applied = await migrate(db);
          if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
          return db;
        } catch (error) {
          await db.close().catch(() => undefined);
          throw (settings.database.kind === 'postgres' && connectionProblem(error, settings.database.url)) || error;
        }
      },
    },
    ...repositories.map((repository) => ({
      provide: repository,
      inject: [DATABASE],
      useFactory: (db: Database) => new repository(db.prisma),
    })),
  ],
  exports: [DATABASE, ...repositories],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
