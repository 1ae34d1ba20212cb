import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { tickMilliseconds, TrustDomainKeys } from '../../../libs/keys';
import { LOGGER } from '../logging/logger';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';

/**
 * Rotates the trust domain's keys at start (the server does not serve
 * without them) and then on a timer, which also picks up keys other
 * replicas made.
 */
@Injectable()
export class KeyRotationTimer implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly keys: TrustDomainKeys,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.keys.rotate();
    const every = tickMilliseconds(this.settings.caRotationSeconds, this.settings.jwtKeyRotationSeconds);
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    try {
      await this.keys.rotate();
    } catch (error) {
      // The keys in memory keep signing; the next tick tries again.
      this.logger.warn({ err: error }, 'identity: key rotation failed; retrying');
    }
  }
}
