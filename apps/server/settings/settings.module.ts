import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../logging/logger';
import type { Settings } from './settings';

export const SETTINGS = Symbol('SETTINGS');

/** Settings and the logger: loaded once before Nest starts, then injected everywhere. */
@Global()
@Module({})
export class SettingsModule {
  static forRoot(settings: Settings, logger: Logger): DynamicModule {
    return {
      module: SettingsModule,
      providers: [
        { provide: SETTINGS, useValue: settings },
        { provide: LOGGER, useValue: logger },
      ],
      exports: [SETTINGS, LOGGER],
    };
  }
}
