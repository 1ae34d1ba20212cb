import type { MaintenanceSession } from '../database';
import { AUDIT_TABLE, DEFAULT_PARTITION, type ExistingPartition, type NewPartition } from './partition-plan';

/**
 * The DDL of audit_events' partitions, written so that logins wait for it
 * only for moments: a partition is made as an empty table of its own and
 * ATTACHed; an expired one is emptied with TRUNCATE, whose file unlink
 * (about a second for a 1.7 GB day here) locks only that partition, before
 * DETACH takes audit_events' ACCESS EXCLUSIVE lock for a moment. Statements
 * that lock audit_events give up after `lockTimeoutMs` rather than queue
 * logins behind a long reader (a pg_dump holds its lock for the whole
 * dump), and are retried next pass. A partition is made once per period
 * and dropped once per period.
 */
export interface PartitionDdlOptions {
  lockTimeoutMs: number;
}

export async function listAuditPartitions(session: MaintenanceSession): Promise<ExistingPartition[]> {
  // Bounds are printed in the session's time zone with their offset, so
  // casting them back in the same session gives the exact instants.
  const rows = await session.query<{ name: string; bound: string; from: Date | null; to: Date | null }>(`
    SELECT c.relname AS name, b.bound,
           (regexp_match(b.bound, 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS "from",
           (regexp_match(b.bound, 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS "to"
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
    WHERE i.inhparent = '${AUDIT_TABLE}'::regclass
    ORDER BY 3 NULLS FIRST`);
  return rows.map((row) => ({
    name: row.name,
    from: toDate(row.from),
    to: toDate(row.to),
    isDefault: row.bound === 'DEFAULT',
  }));
}

/**
 * At most this many rows the default partition took for a new partition's
 * range move into it (the job had not run since the period began, or
 * clocks disagree); they move while logins wait, about 100 ms here. With
 * more, the partition is not made: the rest of its period goes to the
 * default partition too, whose rows are deleted in batches once expired.
 */
export const MAX_ROWS_MOVED = 10_000;

/**
 * Makes and attaches one partition, moving into it the rows the default
 * partition took for its range; undefined when there were too many to
 * move. audit_events is locked against writes (SHARE) for the moment this
 * takes: an insert that had chosen the default partition before the
 * ATTACH and wrote after it would otherwise fail its partition constraint
 * (PostgreSQL re-checks it), which this job's first pass after an upgrade
 * provoked under concurrent logins.
 */
export async function createAuditPartition(
  session: MaintenanceSession,
  partition: NewPartition,
  options: PartitionDdlOptions,
): Promise<{ moved: number } | undefined> {
  const table = quoteIdent(partition.name);
  const range = `"at" >= ${quoteTime(partition.from)} AND "at" < ${quoteTime(partition.to)}`;
  const [stray] = await session.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${quoteIdent(DEFAULT_PARTITION)} WHERE ${range}`,
  );
  const moved = Number(stray?.n ?? 0);
  if (moved > MAX_ROWS_MOVED) return undefined;
  const columns =
    '"id", "at", "event", "outcome", "code", "reason", "attestors", "policy", "attributes", "spiffe_id", "agent_id", "source_ip", "request_id", "actor"';
  const move = `
    INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${quoteIdent(DEFAULT_PARTITION)} WHERE ${range};
    DELETE FROM ${quoteIdent(DEFAULT_PARTITION)} WHERE ${range};`;
  await session.transaction(`
    SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.lockTimeoutMs))};
    CREATE TABLE ${table} (LIKE ${quoteIdent(AUDIT_TABLE)} INCLUDING DEFAULTS);
    -- a valid CHECK implying the range spares ATTACH a scan of the new table
    ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(`${partition.name}_range`)} CHECK (${range});
    LOCK TABLE ${quoteIdent(AUDIT_TABLE)} IN SHARE MODE;
    ${moved > 0 ? move : ''}
    ALTER TABLE ${quoteIdent(AUDIT_TABLE)} ATTACH PARTITION ${table} FOR VALUES FROM (${quoteTime(partition.from)}) TO (${quoteTime(partition.to)});`);
  return { moved };
}

/** Empties and drops an expired partition; returns the rows it held. */
export async function dropAuditPartition(
  session: MaintenanceSession,
  name: string,
  options: PartitionDdlOptions,
): Promise<number> {
  const table = quoteIdent(name);
  const [counted] = await session.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  const lockTimeout = `SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.lockTimeoutMs))};`;
  await session.transaction(`${lockTimeout} TRUNCATE ${table};`);
  // Empty now, so its files go at once while audit_events is locked.
  await session.transaction(
    `${lockTimeout} ALTER TABLE ${quoteIdent(AUDIT_TABLE)} DETACH PARTITION ${table}; DROP TABLE ${table};`,
  );
  return Number(counted?.n ?? 0);
}

/**
 * Deletes one batch of rows older than `before` from one partition (the
 * default or the legacy one); returns how many went.
 */
export async function trimAuditPartition(
  session: MaintenanceSession,
  name: string,
  before: Date,
  batchRows: number,
): Promise<number> {
  const table = quoteIdent(name);
  const rows = await session.query<{ n: string }>(
    `WITH gone AS (DELETE FROM ${table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM ${table} WHERE "at" < $1 LIMIT $2)) RETURNING 1)
     SELECT count(*) AS n FROM gone`,
    [before.toISOString(), batchRows],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Whether an error is a lock wait that gave up (SQLSTATE 55P03): the statement is retried next pass. */
export function isLockTimeout(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '55P03' || /lock timeout/i.test(e?.message ?? '');
}

function toDate(value: Date | string | null): Date | null {
  return value === null ? null : new Date(value);
}

/** Names here are this job's own (`audit_events_p20261203`); quoted all the same. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteTime(t: Date): string {
  return `'${t.toISOString()}'::timestamptz`;
}
