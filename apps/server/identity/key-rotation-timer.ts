import { Inject, Injectable, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { tickMilliseconds, TrustDomainChanged, TrustDomainKeys } from '@libs/keys';
import { LOGGER } from '../logging/logger';
import { SETTINGS } from '../settings/settings.module';
import { envName, SettingsError } from '../settings/settings';
import type { Settings } from '../settings/settings';
import { INSTRUMENTS } from '../telemetry/instruments';
import { Metrics } from '../telemetry/metrics';

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
    @Optional() private readonly metrics?: Metrics,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.keys.rotate().catch((error: unknown) => {
      throw error instanceof TrustDomainChanged ? trustDomainChanged(error) : error;
    });
    // a zero series from the start, so the alert's increase() sees the first failure
    this.metrics?.count(INSTRUMENTS.keyRotationFailures, {}, 0);
    this.metrics?.observe(INSTRUMENTS.caExpiry, () => expiryObservation(this.keys.caNotAfter()));
    this.metrics?.observe(INSTRUMENTS.jwtKeyExpiry, () => expiryObservation(this.keys.jwtKeyNotAfter()));
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
      this.metrics?.count(INSTRUMENTS.keyRotationFailures, {});
      this.logger.warn({ err: error }, 'identity: key rotation failed; retrying');
    }
  }
}

/** A key's notAfter as a gauge value in Unix seconds; nothing while no key signs. */
function expiryObservation(notAfter: Date | undefined): { labels: Record<string, string>; value: number }[] {
  return notAfter ? [{ labels: {}, value: Math.floor(notAfter.getTime() / 1000) }] : [];
}

/** The start stops with one line that says what to do. */
function trustDomainChanged({ stored, configured }: TrustDomainChanged): SettingsError {
  return new SettingsError(
    `trustDomain (${envName('trustDomain')}): is "${configured}", but the database holds the CA of trust domain "${stored}" and a trust domain cannot change; ` +
      `set ${envName('trustDomain')}=${stored}, or give "${configured}" a database of its own`,
  );
}
