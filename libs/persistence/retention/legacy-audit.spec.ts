import { createScratchDatabase } from '@test/support/database';
import { AuditRepository } from '../audit.repository';
import { openDatabase, type Database } from '../database';
import { migrate, readMigrations } from '../migrator';
import { runRetentionPass } from './retention-pass';

const DAY = 86_400_000;
const PARTITIONING = '20261203030000_retention';

// The upgrade to a partitioned audit_events keeps the events an older
// release wrote: the old table becomes the legacy partition as it is, and
// retention later trims it and drops it.
describe('audit events written before partitioning', () => {
  let db: Database;
  let drop: () => Promise<void>;
  const now = new Date();
  const ages = [400, 366, 200, 1, 0];
  beforeAll(async () => {
    const scratch = await createScratchDatabase();
    drop = scratch.drop;
    db = await openDatabase(scratch.url ? { kind: 'postgres', url: scratch.url } : { kind: 'pglite' });
    await migrate(
      db,
      readMigrations().filter((m) => m.name < PARTITIONING),
    );
    for (const days of ages) {
      await db.prisma.$executeRawUnsafe(
        `INSERT INTO audit_events (at, event, outcome, attestors, reason) SELECT $1::timestamptz, 'login', 'success', ARRAY['aws_iid'], $2 FROM generate_series(1, 3)`,
        new Date(now.getTime() - days * DAY).toISOString(),
        `${days} days old`,
      );
    }
    expect(await migrate(db)).toContain(PARTITIONING);
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  const count = async (sql: string) => Number((await db.prisma.$queryRawUnsafe<{ n: bigint }[]>(sql))[0]!.n);

  it('keeps every row, in the legacy partition, and new ids follow the old ones', async () => {
    expect(await count(`SELECT count(*) AS n FROM audit_events_legacy`)).toBe(15);
    const [{ max }] = await db.prisma.$queryRawUnsafe<[{ max: bigint }]>('SELECT max(id) AS max FROM audit_events');
    const [{ id }] = await db.prisma.$queryRawUnsafe<[{ id: bigint }]>(
      `INSERT INTO audit_events (event, outcome, attestors) VALUES ('login', 'success', '{}') RETURNING id`,
    );
    expect(id).toBe(max + 1n);
    const page = await new AuditRepository(db.prisma).list({ limit: 100 });
    expect(page.items.map((e) => e.reason).filter(Boolean)).toEqual(
      [...ages].reverse().flatMap((days) => Array(3).fill(`${days} days old`)),
    );
  });

  it('deletes the legacy rows older than auditRetention in batches, then drops the partition once all of it has expired', async () => {
    const policy = { auditRetentionSeconds: 365 * 86_400, agentRetentionSeconds: 0, joinTokenRetentionSeconds: 0 };
    const options = { batchRows: 2, lockTimeoutMs: 1000 };
    const trimmed = await runRetentionPass(db, policy, now, options);
    expect(trimmed?.pruned.audit_events).toBe(6);
    expect(await count(`SELECT count(*) AS n FROM audit_events_legacy`)).toBe(10);

    const [{ upper }] = await db.prisma.$queryRawUnsafe<[{ upper: Date }]>(
      `SELECT date_trunc('day', now(), 'UTC') + interval '1 day' AS upper`,
    );
    const dropped = await runRetentionPass(db, policy, new Date(new Date(upper).getTime() + 365 * DAY), options);
    expect(dropped?.partitions.dropped).toContain('audit_events_legacy');
    expect(await count(`SELECT count(*) AS n FROM pg_class WHERE relname = 'audit_events_legacy'`)).toBe(0);
  });
});
