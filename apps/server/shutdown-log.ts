import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from './logging/logger';

/** Says when a shutdown begins (and on which signal) and when it is done, so a stop is told from a crash in the log. */
@Injectable()
export class ShutdownLog implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  beforeApplicationShutdown(signal?: string): void {
    this.logger.info({ signal }, 'attestd shutting down');
  }

  onApplicationShutdown(signal?: string): void {
    this.logger.info({ signal }, 'attestd stopped');
  }
}
