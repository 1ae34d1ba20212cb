import { Inject, Injectable, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { RETENTION_TABLES, runRetentionPass, type Database, type RetentionPassResult } from '@libs/persistence';
import { DATABASE } from '../database/database.module';
import { LOGGER } from '../logging/logger';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';
import { INSTRUMENTS } from '../telemetry/instruments';
import { Metrics } from '../telemetry/metrics';

/** The retention job's clock; tests inject one to walk through weeks. */
export const RETENTION_CLOCK = Symbol('RETENTION_CLOCK');
export type RetentionClock = () => Date;

/**
 * Rows per delete statement. Embedded PGlite runs in this process's event
 * loop, where 1,000 rows take about 25 ms; PostgreSQL takes 5,000 in about
 * 100 ms of its own time.
 */
const BATCH_ROWS = { postgres: 5000, pglite: 1000 } as const;

/** How long partition DDL waits for audit_events' lock before leaving it to the next pass: at most this long may a login wait behind it. */
const LOCK_TIMEOUT_MS = 50;

/**
 * Runs the retention pass (`libs/persistence/retention`) every
 * `retentionInterval`, the first at start, on whichever replica takes the
 * retention lock; counts what it deleted (`attestd.retention.pruned`) and
 * logs each pass. docs/operations/retention.md.
 */
@Injectable()
export class RetentionService implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopping = false;
  private readonly clock: RetentionClock;

  constructor(
    @Inject(DATABASE) private readonly db: Database,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: Metrics,
    @Optional() @Inject(RETENTION_CLOCK) clock?: RetentionClock,
  ) {
    this.clock = clock ?? (() => new Date());
  }

  onModuleInit(): void {
    // every table's series exists from the start, so rate() reads 0 rather than nothing
    for (const table of RETENTION_TABLES) this.metrics.count(INSTRUMENTS.retentionPruned, { table }, 0);
    this.schedule(0);
  }

  /** Stops between two batches and waits for that, so the database is not closed under a pass. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /**
   * One pass now (after the one running, if any). Undefined when another
   * replica holds the retention lock; throws what the pass threw.
   */
  runPass(): Promise<RetentionPassResult | undefined> {
    const pass = (this.running ?? Promise.resolve()).catch(() => undefined).then(() => this.passOnce());
    this.running = pass.catch(() => undefined);
    return pass;
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      void this.runPass()
        .catch((error: unknown) =>
          this.logger.warn(
            { err: error, retryInSeconds: this.settings.retention.intervalSeconds },
            'retention: pass failed; retrying',
          ),
        )
        .finally(() => this.schedule(this.settings.retention.intervalSeconds * 1000));
    }, delayMs);
    this.timer.unref();
  }

  private async passOnce(): Promise<RetentionPassResult | undefined> {
    const started = process.hrtime.bigint();
    const { auditSeconds, agentSeconds, joinTokenSeconds } = this.settings.retention;
    const result = await runRetentionPass(
      this.db,
      {
        auditRetentionSeconds: auditSeconds,
        agentRetentionSeconds: agentSeconds,
        joinTokenRetentionSeconds: joinTokenSeconds,
      },
      this.clock(),
      { batchRows: BATCH_ROWS[this.db.kind], lockTimeoutMs: LOCK_TIMEOUT_MS, stopped: () => this.stopping },
    );
    if (!result) {
      this.logger.debug('retention: another replica holds the retention lock; skipped');
      return undefined;
    }
    for (const table of RETENTION_TABLES) {
      if (result.pruned[table] > 0) this.metrics.count(INSTRUMENTS.retentionPruned, { table }, result.pruned[table]);
    }
    const { created, dropped, busy, leftInDefault, movedFromDefault } = result.partitions;
    this.logger.info(
      {
        pruned: result.pruned,
        agentsReleased: result.released,
        partitionsCreated: created,
        partitionsDropped: dropped,
        ...(busy.length > 0 && { partitionsBusy: busy }),
        ...(leftInDefault.length > 0 && { partitionsLeftInDefault: leftInDefault }),
        ...(movedFromDefault > 0 && { movedFromDefault }),
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
      },
      'retention: pass finished',
    );
    return result;
  }
}
