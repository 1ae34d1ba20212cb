import { AuditRepository, type AuditFilter } from '@libs/persistence/audit.repository';
import type { Database, DatabaseTarget } from '@libs/persistence/database';
import { createAuditPartition } from '@libs/persistence/retention/audit-partitions';
import {
  nextPeriodStart,
  partitionName,
  partitionWidthFor,
  periodStart,
} from '@libs/persistence/retention/partition-plan';
import { RETENTION_LOCK_ID, runRetentionPass } from '@libs/persistence/retention/retention-pass';
import { loginWriteRate, seedAgents, withDatabase } from './database';

// Growth (issue: "a login write that stays flat as tables grow"): the
// login write with 5 million audit events and 5 million used nonces
// present, against the same write on empty tables, and the audit list
// with its filters at that size. Both databases are seeded in SQL
// (generate_series), the audit events as whole partitions: each filled
// without indexes, then attached, which builds them sorted, many times
// faster than five million indexed inserts.

export const GROWTH_ROWS = 5_000_000;
const AGENTS = 100_000;
/** events spread over the last 30 days, in a year of weekly partitions (auditRetention's default) */
const SEEDED_DAYS = 30;
const RETENTION_SECONDS = 365 * 86_400;
const DAY_MS = 86_400_000;

export interface GrowthResult {
  auditRows: number;
  nonceRows: number;
  seedSeconds: number;
  /** login writes per second, median of the rounds, 8 in flight */
  emptyRate: number;
  grownRate: number;
  ratio: number;
  list: {
    queries: number;
    p50Ms: number;
    p99Ms: number;
    slowest: { filter: string; p99Ms: number };
    byFilter: Record<string, { p50Ms: number; p99Ms: number }>;
  };
}

export async function measureGrowth(
  empty: DatabaseTarget,
  grown: DatabaseTarget,
  options: { rounds: number; writes: number; queriesPerFilter: number; log: (text: string) => void },
): Promise<GrowthResult> {
  const now = new Date();
  const started = process.hrtime.bigint();
  await withDatabase(empty, (db) => seedAgents(db, AGENTS));
  await withDatabase(grown, async (db) => {
    await seedAgents(db, AGENTS);
    options.log(`growth: seeding ${GROWTH_ROWS.toLocaleString('en-US')} used nonces`);
    await seedUsedNonces(db, GROWTH_ROWS);
    options.log(
      `growth: seeding ${GROWTH_ROWS.toLocaleString('en-US')} audit events over ${SEEDED_DAYS} days, in a year of weekly partitions`,
    );
    await seedAuditEvents(db, GROWTH_ROWS, now);
  });
  const seedSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  // Rounds alternate between the two databases, so that a change in the
  // machine's load falls on both.
  const emptyRates: number[] = [];
  const grownRates: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    options.log(`growth: login writes, round ${round + 1} of ${options.rounds}`);
    emptyRates.push(await withDatabase(empty, (db) => loginWriteRate(db, { count: options.writes, concurrency: 8 })));
    grownRates.push(await withDatabase(grown, (db) => loginWriteRate(db, { count: options.writes, concurrency: 8 })));
  }
  options.log('growth: audit list queries');
  const list = await withDatabase(grown, (db) => auditListLatency(db, now, options.queriesPerFilter));
  const emptyRate = median(emptyRates);
  const grownRate = median(grownRates);
  return {
    auditRows: GROWTH_ROWS,
    nonceRows: GROWTH_ROWS,
    seedSeconds,
    emptyRate,
    grownRate,
    ratio: grownRate / emptyRate,
    list,
  };
}

/** Unexpired used nonces, inserted in key order so the primary key is built by appending. */
async function seedUsedNonces(db: Database, count: number): Promise<void> {
  await db.runScript(`
    INSERT INTO used_nonces (kind, value, expires_at)
    SELECT 'login', v, now() + interval '1 day' FROM (SELECT md5('bench/' || g) AS v FROM generate_series(1, ${count}) g) s ORDER BY v;
    ANALYZE used_nonces;`);
}

/**
 * `count` events at an even pace over the last SEEDED_DAYS days: renewals,
 * one in ten a login (with its attributes), one in fifty a failure, one in
 * a thousand a k8s_psat login, agents of a 100,000-node fleet. Weekly
 * partitions cover the year before, empty, as a year of retention leaves
 * them; the retention pass makes the ones ahead.
 */
export async function seedAuditEvents(db: Database, count: number, now: Date): Promise<void> {
  const width = partitionWidthFor(RETENTION_SECONDS);
  // whole milliseconds, as at is stored, so each row falls exactly where the partition bounds say
  const step = Math.floor((SEEDED_DAYS * DAY_MS) / count);
  const first = now.getTime() - step * count;
  for (
    let from = periodStart(new Date(first), width);
    from.getTime() < now.getTime();
    from = nextPeriodStart(from, width)
  ) {
    const to = nextPeriodStart(from, width);
    const lo = Math.max(0, Math.ceil((from.getTime() - first) / step));
    const hi = Math.min(count - 1, Math.ceil((to.getTime() - first) / step) - 1);
    await filledPartition(db, from, to, lo, hi, first, step);
  }
  const ddl = { lockTimeoutMs: 10_000 };
  await runRetentionPass(
    db,
    { auditRetentionSeconds: RETENTION_SECONDS, agentRetentionSeconds: 0, joinTokenRetentionSeconds: 0 },
    now,
    { batchRows: 5000, lockTimeoutMs: ddl.lockTimeoutMs },
  );
  const yearAgo = periodStart(new Date(now.getTime() - RETENTION_SECONDS * 1000), width);
  for (
    let from = yearAgo;
    from.getTime() < periodStart(new Date(first), width).getTime();
    from = nextPeriodStart(from, width)
  ) {
    const partition = { name: partitionName(from), from, to: nextPeriodStart(from, width) };
    await db.withExclusiveSession(RETENTION_LOCK_ID, (session) => createAuditPartition(session, partition, ddl));
  }
  await db.runScript('ANALYZE audit_events;');
}

/** A period's events in a table of its own, attached once filled: ATTACH builds its indexes in one sorted pass each. */
async function filledPartition(
  db: Database,
  from: Date,
  to: Date,
  lo: number,
  hi: number,
  first: number,
  step: number,
): Promise<void> {
  const name = partitionName(from);
  const range = `at >= '${from.toISOString()}' AND at < '${to.toISOString()}'`;
  await db.runScript(`
    CREATE TABLE ${name} (LIKE audit_events INCLUDING DEFAULTS);
    INSERT INTO ${name} (id, at, event, outcome, code, reason, attestors, policy, attributes, spiffe_id, agent_id, source_ip, request_id)
    SELECT nextval('audit_events_id_seq'), '${new Date(first).toISOString()}'::timestamptz + g * interval '1 millisecond' * ${step},
           CASE WHEN g % 10 = 0 THEN 'login' ELSE 'renew' END,
           CASE WHEN g % 50 = 0 THEN 'failure' ELSE 'success' END,
           CASE WHEN g % 50 = 0 THEN 'attestation_failed' END,
           CASE WHEN g % 50 = 0 THEN 'aws_iid: instance is stopped, not running' END,
           CASE WHEN g % 1000 = 0 THEN ARRAY['k8s_psat'] ELSE ARRAY['aws_iid'] END,
           'ec2_fleet',
           CASE WHEN g % 10 = 0 THEN jsonb_build_object('aws_iid.account.id', jsonb_build_array('111111111111'), 'aws_iid.ec2.instance.id', jsonb_build_array('i-' || md5((g % ${AGENTS})::text))) END,
           'spiffe://example.org/agent/aws_iid/111111111111/us-east-1/i-' || md5((g % ${AGENTS})::text),
           md5('agent/' || (g % ${AGENTS}))::uuid, '10.0.' || (g % 250) || '.' || (g % 200), md5('request/' || g)
    FROM generate_series(${lo}, ${hi}) g;
    ALTER TABLE ${name} ADD CONSTRAINT ${name}_range CHECK (${range});
    ALTER TABLE audit_events ATTACH PARTITION ${name} FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}');`);
}

/** The audit list as the Admin API runs it, filter by filter, one query at a time: p50 and p99 over all, and the slowest filter's p99. */
export async function auditListLatency(db: Database, now: Date, perFilter: number): Promise<GrowthResult['list']> {
  const audit = new AuditRepository(db.prisma);
  const [agent] = await db.prisma.$queryRawUnsafe<{ id: string }[]>(`SELECT md5('agent/42')::uuid::text AS id`);
  const first = await audit.list({ outcome: 'failure', limit: 100 });
  const cursor = first.nextCursor ? Buffer.from(first.nextCursor, 'base64url').toString('utf8') : undefined;
  const filters: Record<string, Omit<AuditFilter, 'limit'>> = {
    none: {},
    'outcome=failure': { outcome: 'failure' },
    'attestor=aws_iid': { attestor: 'aws_iid' },
    'attestor=k8s_psat (0.1%)': { attestor: 'k8s_psat' },
    agentId: { agentId: agent!.id },
    'one day, 28 days back': {
      since: new Date(now.getTime() - 28 * DAY_MS),
      until: new Date(now.getTime() - 27 * DAY_MS),
    },
    'outcome=failure, page 2': { outcome: 'failure', ...(cursor && { after: cursor }) },
  };
  const all: number[] = [];
  const byFilter: Record<string, { p50Ms: number; p99Ms: number }> = {};
  let slowest = { filter: '', p99Ms: 0 };
  for (const [name, filter] of Object.entries(filters)) {
    const times: number[] = [];
    for (let i = 0; i <= perFilter; i++) {
      const started = process.hrtime.bigint();
      const page = await audit.list({ ...filter, limit: 100 });
      if (page.items.length === 0) throw new Error(`bench: audit list ${name} found nothing`);
      // the first query of each filter plans and warms caches, as on a server that has been up: not counted
      if (i > 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    times.sort((a, b) => a - b);
    all.push(...times);
    byFilter[name] = { p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99) };
    if (quantile(times, 0.99) > slowest.p99Ms) slowest = { filter: name, p99Ms: quantile(times, 0.99) };
  }
  all.sort((a, b) => a - b);
  return { queries: all.length, p50Ms: quantile(all, 0.5), p99Ms: quantile(all, 0.99), slowest, byFilter };
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
