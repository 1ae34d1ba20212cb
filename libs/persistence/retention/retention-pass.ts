import type { Database, MaintenanceSession } from '../database';
import {
  createAuditPartition,
  dropAuditPartition,
  isLockTimeout,
  listAuditPartitions,
  trimAuditPartition,
} from './audit-partitions';
import { planAuditPartitions } from './partition-plan';
import { pruneJoinTokens, pruneUsedNonces, purgeAgents } from './prune';

/** How long each kind of row is kept; 0 keeps it forever. */
export interface RetentionPolicy {
  auditRetentionSeconds: number;
  /** after eviction, or after the SVID expired */
  agentRetentionSeconds: number;
  /** after a join token expired */
  joinTokenRetentionSeconds: number;
}

export interface RetentionPassOptions {
  /** rows per delete statement */
  batchRows: number;
  /** how long a partition statement waits for a lock on audit_events before it gives up until next pass */
  lockTimeoutMs: number;
  /** checked between batches: a server shutting down stops the pass there */
  stopped?: () => boolean;
}

/** The tables rows are pruned from, as the metric's `table` attribute names them. */
export const RETENTION_TABLES = ['audit_events', 'used_nonces', 'join_tokens', 'agents', 'tofu_keys'] as const;
export type RetentionTable = (typeof RETENTION_TABLES)[number];

export interface RetentionPassResult {
  pruned: Record<RetentionTable, number>;
  /** agents purged while active: their TOFU keys were released */
  released: number;
  partitions: {
    created: string[];
    dropped: string[];
    /** gave up waiting for a lock on audit_events: retried next pass */
    busy: string[];
    /** not made: the default partition held too many rows of its range to move (`MAX_ROWS_MOVED`) */
    leftInDefault: string[];
    movedFromDefault: number;
  };
}

/** The advisory lock one replica holds for the length of a pass. */
export const RETENTION_LOCK_ID = 0x61747472; // "attr"

/**
 * A used login ID or `jti` is refused by its own expiry, checked with the
 * clock of whichever replica sees it; its row is kept this much longer, so
 * that a replica whose clock is behind still finds it.
 */
export const NONCE_CLOCK_SKEW_MS = 10 * 60_000;

/** Who the audit log names for purges: no operator did them. */
export const RETENTION_ACTOR = 'retention';

/**
 * One retention pass at time `now`, or undefined when another replica holds
 * the retention lock. Partitions first (so inserts always find one ahead),
 * then expired rows in batches; each table the pass deleted from is
 * vacuumed after, so its space is reused at once (embedded PGlite has no
 * autovacuum).
 */
export async function runRetentionPass(
  db: Database,
  policy: RetentionPolicy,
  now: Date,
  options: RetentionPassOptions,
): Promise<RetentionPassResult | undefined> {
  const ran = await db.withExclusiveSession(RETENTION_LOCK_ID, (session) =>
    new Pass(session, policy, now, options).run(),
  );
  return ran?.value;
}

class Pass {
  private readonly result: RetentionPassResult = {
    pruned: { audit_events: 0, used_nonces: 0, join_tokens: 0, agents: 0, tofu_keys: 0 },
    released: 0,
    partitions: { created: [], dropped: [], busy: [], leftInDefault: [], movedFromDefault: 0 },
  };
  private readonly toVacuum = new Set<string>();

  constructor(
    private readonly session: MaintenanceSession,
    private readonly policy: RetentionPolicy,
    private readonly now: Date,
    private readonly options: RetentionPassOptions,
  ) {}

  async run(): Promise<RetentionPassResult> {
    await this.auditPartitions();
    await this.repeat('used_nonces', (batch) =>
      pruneUsedNonces(this.session, this.ago(NONCE_CLOCK_SKEW_MS / 1000), batch),
    );
    if (this.policy.agentRetentionSeconds > 0) await this.agents();
    if (this.policy.joinTokenRetentionSeconds > 0) {
      await this.repeat('join_tokens', (batch) =>
        pruneJoinTokens(this.session, this.ago(this.policy.joinTokenRetentionSeconds), batch),
      );
    }
    for (const table of this.toVacuum) {
      if (this.stopped()) break;
      await this.session.query(`VACUUM "${table}"`);
    }
    return this.result;
  }

  private async auditPartitions(): Promise<void> {
    const ddl = { lockTimeoutMs: this.options.lockTimeoutMs };
    const plan = planAuditPartitions(
      await listAuditPartitions(this.session),
      this.now,
      this.policy.auditRetentionSeconds,
    );
    for (const partition of plan.create) {
      const made = await this.unlessBusy(partition.name, () => createAuditPartition(this.session, partition, ddl));
      if (made === 'busy') continue;
      if (made === undefined) {
        this.result.partitions.leftInDefault.push(partition.name);
        continue;
      }
      this.result.partitions.created.push(partition.name);
      this.result.partitions.movedFromDefault += made.moved;
    }
    for (const name of plan.drop) {
      if (this.stopped()) return;
      const rows = await this.unlessBusy(name, () => dropAuditPartition(this.session, name, ddl));
      if (rows === 'busy') continue;
      this.result.partitions.dropped.push(name);
      this.result.pruned.audit_events += rows;
    }
    const cutoff = plan.cutoff;
    if (!cutoff) return;
    for (const name of plan.trim) {
      const trimmed = await this.repeat('audit_events', (batch) =>
        trimAuditPartition(this.session, name, cutoff, batch),
      );
      if (trimmed > 0) this.toVacuum.add(name);
    }
  }

  private async agents(): Promise<void> {
    const before = this.ago(this.policy.agentRetentionSeconds);
    const reason = `SVID expired before ${before.toISOString()}, more than agentRetention ago: agent purged and its TOFU keys released`;
    await this.repeat('agents', async (batch) => {
      const purged = await purgeAgents(this.session, before, batch, RETENTION_ACTOR, reason);
      this.add('tofu_keys', purged.tofuKeys);
      this.result.released += purged.released;
      return purged.agents;
    });
  }

  /** Runs batches until one comes back short; counts and marks the table for VACUUM. */
  private async repeat(table: RetentionTable, batch: (rows: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.stopped()) break;
      const deleted = await batch(this.options.batchRows);
      total += deleted;
      if (deleted < this.options.batchRows) break;
    }
    this.add(table, total);
    return total;
  }

  private add(table: RetentionTable, rows: number): void {
    this.result.pruned[table] += rows;
    if (rows > 0 && table !== 'audit_events') this.toVacuum.add(table);
  }

  /** A partition statement that gave up waiting for its lock is left for the next pass. */
  private async unlessBusy<T>(name: string, ddl: () => Promise<T>): Promise<T | 'busy'> {
    try {
      return await ddl();
    } catch (error) {
      if (!isLockTimeout(error)) throw error;
      this.result.partitions.busy.push(name);
      return 'busy';
    }
  }

  private ago(seconds: number): Date {
    return new Date(this.now.getTime() - seconds * 1000);
  }

  private stopped(): boolean {
    return this.options.stopped?.() ?? false;
  }
}
