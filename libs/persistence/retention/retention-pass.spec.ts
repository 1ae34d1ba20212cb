import { randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@test/support/database';
import { loginRecord } from '@test/support/login-record';
import type { Database } from '../database';
import { AgentsRepository } from '../agents.repository';
import { recordLogin } from '../login-write';
import { DEFAULT_PARTITION } from './partition-plan';
import {
  NONCE_CLOCK_SKEW_MS,
  runRetentionPass,
  type RetentionPassOptions,
  type RetentionPolicy,
} from './retention-pass';

const DAY = 86_400_000;
const KEEP_ALL: RetentionPolicy = { auditRetentionSeconds: 0, agentRetentionSeconds: 0, joinTokenRetentionSeconds: 0 };
const OPTIONS: RetentionPassOptions = { batchRows: 1000, lockTimeoutMs: 1000 };

async function pass(
  db: Database,
  now: Date,
  policy: Partial<RetentionPolicy> = {},
  options: Partial<RetentionPassOptions> = {},
) {
  const result = await runRetentionPass(db, { ...KEEP_ALL, ...policy }, now, { ...OPTIONS, ...options });
  if (!result) throw new Error('the pass did not run');
  return result;
}

async function rows<T>(db: Database, sql: string, ...values: unknown[]): Promise<T[]> {
  return db.prisma.$queryRawUnsafe<T[]>(sql, ...values);
}

async function partitionOf(db: Database, at: Date): Promise<string> {
  const [row] = await rows<{ partition: string }>(
    db,
    `INSERT INTO audit_events (at, event, outcome, attestors) VALUES ($1::timestamptz, 'login', 'success', '{}') RETURNING tableoid::regclass::text AS partition`,
    at.toISOString(),
  );
  return row!.partition;
}

async function partitions(db: Database): Promise<string[]> {
  const found = await rows<{ name: string }>(
    db,
    `SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'audit_events'::regclass ORDER BY 1`,
  );
  return found.map((p) => p.name);
}

/** Audit rows at `at`, `count` of them, made in SQL. */
async function auditRows(db: Database, at: Date, count: number): Promise<void> {
  await db.prisma.$executeRawUnsafe(
    `INSERT INTO audit_events (at, event, outcome, attestors) SELECT $1::timestamptz, 'renew', 'success', ARRAY['aws_iid'] FROM generate_series(1, $2::int)`,
    at.toISOString(),
    count,
  );
}

// One database for these tests: each works in a year of its own, later
// than the ones before it, so that what an earlier test left behind is
// older than anything a later one looks at.
describe('the retention pass: audit partitions', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t?.drop());

  it('drops partitions wholly older than auditRetention and counts their rows; trims the default partition row by row; keeps everything with 0', async () => {
    const now = new Date('2031-03-12T15:00:00Z'); // a Wednesday
    const retention = { auditRetentionSeconds: 3 * 86_400 };
    await pass(t.db, now, retention);
    await auditRows(t.db, now, 5);
    await auditRows(t.db, new Date(now.getTime() + DAY), 7);
    await auditRows(t.db, new Date(now.getTime() - 40 * DAY), 2); // before any partition: in the default one

    const fourDaysOn = new Date(now.getTime() + 4 * DAY);
    expect(await pass(t.db, fourDaysOn, KEEP_ALL)).toMatchObject({
      pruned: { audit_events: 0 },
      partitions: { dropped: [] },
    });

    const result = await pass(t.db, fourDaysOn, retention);
    // 2031-03-12 ends 3 days and 9 hours before: gone; 2031-03-13 ends 2 days and 9 hours before: kept
    expect(result.partitions.dropped).toEqual(['audit_events_p20310312']);
    expect(result.pruned.audit_events).toBe(5 + 2);
    expect(await partitions(t.db)).not.toContain('audit_events_p20310312');
    const left = await rows<{ n: bigint }>(t.db, 'SELECT count(*) AS n FROM audit_events');
    expect(left[0]!.n).toBe(7n);
  });

  it('makes partitions a week ahead, so every insert until then lands in its own partition, and a row beyond it lands in the default partition rather than failing', async () => {
    const now = new Date('2033-03-16T15:00:00Z'); // a Wednesday
    const result = await pass(t.db, now, { auditRetentionSeconds: 30 * 86_400 });
    expect(result.partitions.created).toEqual(
      ['16', '17', '18', '19', '20', '21', '22', '23'].map((d) => `audit_events_p203303${d}`),
    );
    expect(await partitionOf(t.db, now)).toBe('audit_events_p20330316');
    expect(await partitionOf(t.db, new Date(now.getTime() + 7 * DAY))).toBe('audit_events_p20330323');
    expect(await partitionOf(t.db, new Date(now.getTime() + 30 * DAY))).toBe(DEFAULT_PARTITION);
    // the next pass makes nothing twice
    expect((await pass(t.db, now, { auditRetentionSeconds: 30 * 86_400 })).partitions.created).toEqual([]);
  });

  it('sizes partitions by auditRetention: weeks from Monday for the default year, months when kept forever, lined up after what exists', async () => {
    const now = new Date('2035-03-14T15:00:00Z'); // a Wednesday
    expect((await pass(t.db, now, { auditRetentionSeconds: 365 * 86_400 })).partitions.created).toEqual([
      'audit_events_p20350312',
      'audit_events_p20350319',
    ]);
    const later = new Date('2035-03-28T00:00:00Z');
    // the rest of March after the last weekly partition, then April whole
    expect((await pass(t.db, later, { auditRetentionSeconds: 0 })).partitions.created).toEqual([
      'audit_events_p20350326',
      'audit_events_p20350401',
    ]);
    expect(await partitionOf(t.db, new Date('2035-04-30T23:59:59Z'))).toBe('audit_events_p20350401');
  });

  it('moves rows the default partition took into the partition made for their day', async () => {
    const now = new Date('2037-03-11T15:00:00Z'); // a Wednesday
    const stray = new Date(now.getTime() + 10 * DAY);
    const where = () =>
      rows<{ partition: string; n: bigint }>(
        t.db,
        `SELECT tableoid::regclass::text AS partition, count(*) AS n FROM audit_events WHERE at = $1::timestamptz GROUP BY 1`,
        stray.toISOString(),
      );
    await auditRows(t.db, stray, 3);
    await pass(t.db, now, { auditRetentionSeconds: 30 * 86_400 });
    expect(await where()).toEqual([{ partition: DEFAULT_PARTITION, n: 3n }]);
    const result = await pass(t.db, stray, { auditRetentionSeconds: 30 * 86_400 });
    expect(result.partitions.movedFromDefault).toBe(3);
    expect(await where()).toEqual([{ partition: 'audit_events_p20370321', n: 3n }]);
  });
});

describe('the retention pass: rows', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t?.drop());

  const now = new Date();

  async function nonce(expiresAt: Date): Promise<string> {
    const value = randomUUID();
    await rows(
      t.db,
      `INSERT INTO used_nonces (kind, value, expires_at) VALUES ('jti', $1, $2::timestamptz) RETURNING 1`,
      value,
      expiresAt.toISOString(),
    );
    return value;
  }

  async function nonceExists(value: string): Promise<boolean> {
    return (await rows(t.db, 'SELECT 1 FROM used_nonces WHERE value = $1', value)).length === 1;
  }

  it('deletes used nonces and jtis once they expired, after the clock-skew allowance, and not before', async () => {
    const expiredLongAgo = await nonce(new Date(now.getTime() - NONCE_CLOCK_SKEW_MS - 1000));
    const justExpired = await nonce(new Date(now.getTime() - 1000));
    const live = await nonce(new Date(now.getTime() + 60_000));
    const result = await pass(t.db, now);
    expect(result.pruned.used_nonces).toBeGreaterThanOrEqual(1);
    expect([await nonceExists(expiredLongAgo), await nonceExists(justExpired), await nonceExists(live)]).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('deletes in batches until done, and stops between batches when told to', async () => {
    const old = new Date(now.getTime() - NONCE_CLOCK_SKEW_MS - DAY);
    const values = await Promise.all(Array.from({ length: 7 }, () => nonce(old)));
    let batches = 0;
    const stopped = await pass(t.db, now, {}, { batchRows: 2, stopped: () => batches++ >= 1 });
    expect(stopped.pruned.used_nonces).toBe(2);
    expect((await pass(t.db, now, {}, { batchRows: 2 })).pruned.used_nonces).toBe(5);
    for (const value of values) expect(await nonceExists(value)).toBe(false);
  });

  async function joinToken(expiresAt: Date, usedBy?: string): Promise<string> {
    const id = randomUUID();
    await rows(
      t.db,
      `INSERT INTO join_tokens (id, token_hash, expires_at, used_at, used_by_agent, created_by) VALUES ($1::uuid, $2, $3::timestamptz, $4::timestamptz, $5::uuid, 'test') RETURNING 1`,
      id,
      randomBytes(16).toString('hex'),
      expiresAt.toISOString(),
      usedBy ? expiresAt.toISOString() : null,
      usedBy ?? null,
    );
    return id;
  }

  async function tokenExists(id: string): Promise<boolean> {
    return (await rows(t.db, 'SELECT 1 FROM join_tokens WHERE id = $1::uuid', id)).length === 1;
  }

  it('deletes join tokens that expired more than joinTokenRetention ago and were never used, or whose agent is gone', async () => {
    const grace = 7 * 86_400;
    const holder = await agent({ status: 'active', svidExpiresAt: new Date(now.getTime() + DAY) });
    const unusedOld = await joinToken(new Date(now.getTime() - 8 * DAY));
    const unusedRecent = await joinToken(new Date(now.getTime() - 6 * DAY));
    const usedAgentGone = await joinToken(new Date(now.getTime() - 8 * DAY), randomUUID());
    const usedAgentHere = await joinToken(new Date(now.getTime() - 8 * DAY), holder.id);
    const unexpired = await joinToken(new Date(now.getTime() + DAY));

    expect((await pass(t.db, now)).pruned.join_tokens).toBe(0);
    const result = await pass(t.db, now, { joinTokenRetentionSeconds: grace });
    expect(result.pruned.join_tokens).toBe(2);
    const kept = await Promise.all([unusedOld, unusedRecent, usedAgentGone, usedAgentHere, unexpired].map(tokenExists));
    expect(kept).toEqual([false, true, false, true, true]);
  });

  interface SeededAgent {
    id: string;
    key: string;
  }

  async function agent(state: {
    status: 'active' | 'evicted' | 'banned';
    svidExpiresAt: Date;
    evictedAt?: Date;
  }): Promise<SeededAgent> {
    const id = randomUUID();
    const key = `aws_iid/111111111111/us-east-1/i-${randomBytes(8).toString('hex')}`;
    await rows(
      t.db,
      `WITH a AS (
         INSERT INTO agents (id, spiffe_id, status, policy, attestor_types, attributes, selectors, svid_serial, svid_expires_at, evicted_at)
         VALUES ($1::uuid, $2, $3::"AgentStatus", 'ec2', ARRAY['aws_iid'], '{}'::jsonb, '{}', $4, $5::timestamptz, $6::timestamptz) RETURNING id)
       INSERT INTO tofu_keys (key, agent_id, active) SELECT $7, id, $8 FROM a RETURNING 1`,
      id,
      `spiffe://example.org/agent/${id}`,
      state.status,
      randomBytes(8).toString('hex'),
      state.svidExpiresAt.toISOString(),
      state.evictedAt?.toISOString() ?? null,
      key,
      state.status !== 'evicted',
    );
    return { id, key };
  }

  async function agentState(id: string): Promise<{ agent: boolean; keys: number }> {
    const [agentRow] = await rows<{ n: bigint }>(t.db, 'SELECT count(*) AS n FROM agents WHERE id = $1::uuid', id);
    const [keyRows] = await rows<{ n: bigint }>(
      t.db,
      'SELECT count(*) AS n FROM tofu_keys WHERE agent_id = $1::uuid',
      id,
    );
    return { agent: agentRow!.n === 1n, keys: Number(keyRows!.n) };
  }

  it('purges agents evicted, or whose SVID expired, more than agentRetention ago, with their TOFU keys, and keeps banned and recent ones', async () => {
    const retention = 30 * 86_400;
    const longAgo = new Date(now.getTime() - 31 * DAY);
    const recently = new Date(now.getTime() - 29 * DAY);
    const evictedLongAgo = await agent({ status: 'evicted', svidExpiresAt: longAgo, evictedAt: longAgo });
    // evicted last week, its SVID long expired: kept for agentRetention after the eviction
    const evictedRecently = await agent({ status: 'evicted', svidExpiresAt: longAgo, evictedAt: recently });
    const expiredLongAgo = await agent({ status: 'active', svidExpiresAt: longAgo });
    const expiredRecently = await agent({ status: 'active', svidExpiresAt: recently });
    const bannedLongAgo = await agent({ status: 'banned', svidExpiresAt: longAgo });
    const live = await agent({ status: 'active', svidExpiresAt: new Date(now.getTime() + DAY) });

    const result = await pass(t.db, now, { agentRetentionSeconds: retention });
    expect(result.pruned).toMatchObject({ agents: 2, tofu_keys: 2 });
    expect(result.released).toBe(1);
    const states = await Promise.all(
      [evictedLongAgo, evictedRecently, expiredLongAgo, expiredRecently, bannedLongAgo, live].map((a) =>
        agentState(a.id),
      ),
    );
    expect(states).toEqual([
      { agent: false, keys: 0 },
      { agent: true, keys: 1 },
      { agent: false, keys: 0 },
      { agent: true, keys: 1 },
      { agent: true, keys: 1 },
      { agent: true, keys: 1 },
    ]);
  });

  const loginFor = (tofuKey: string) => loginRecord({ tofuKeys: [tofuKey] });

  it('a purged active agent frees its node to attest again, and the audit log says so; a banned one keeps blocking it', async () => {
    const longAgo = new Date(now.getTime() - 31 * DAY);
    const dead = await agent({ status: 'active', svidExpiresAt: longAgo });
    const banned = await agent({ status: 'banned', svidExpiresAt: longAgo });
    expect(await recordLogin(t.db, loginFor(dead.key))).toMatchObject({ outcome: 'node_already_attested' });

    await pass(t.db, now, { agentRetentionSeconds: 30 * 86_400 });

    const events = await rows<{ event: string; actor: string; reason: string }>(
      t.db,
      `SELECT event, actor, reason FROM audit_events WHERE agent_id = $1::uuid AND actor IS NOT NULL`,
      dead.id,
    );
    expect(events).toEqual([
      {
        event: 'evict',
        actor: 'retention',
        reason: expect.stringMatching(/more than agentRetention ago: agent purged and its TOFU keys released/),
      },
    ]);
    expect(await recordLogin(t.db, loginFor(dead.key))).toEqual({ outcome: 'recorded' });
    expect(await recordLogin(t.db, loginFor(banned.key))).toMatchObject({ outcome: 'agent_banned' });
  });

  it('counts agentRetention from the eviction, whether an operator evicted the agent or a login superseded it', async () => {
    const evicted = loginFor(`aws_iid/111111111111/us-east-1/i-${randomBytes(8).toString('hex')}`);
    const superseded = {
      ...loginFor(`aws_iid/111111111111/us-east-1/i-${randomBytes(8).toString('hex')}`),
      tofu: false,
    };
    for (const login of [evicted, superseded]) expect(await recordLogin(t.db, login)).toEqual({ outcome: 'recorded' });
    await new AgentsRepository(t.db.prisma).changeStatus(evicted.agentId, 'evict', { actor: 'test' });
    const successor = { ...loginFor(superseded.tofuKeys[0]!), tofu: false };
    expect(await recordLogin(t.db, successor)).toEqual({ outcome: 'recorded' });

    const policy = { agentRetentionSeconds: 30 * 86_400 };
    await pass(t.db, new Date(Date.now() + 29 * DAY), policy);
    expect((await agentState(evicted.agentId)).agent).toBe(true);
    expect((await agentState(superseded.agentId)).agent).toBe(true);
    await pass(t.db, new Date(Date.now() + 31 * DAY), policy);
    expect((await agentState(evicted.agentId)).agent).toBe(false);
    expect((await agentState(superseded.agentId)).agent).toBe(false);
  });
});
