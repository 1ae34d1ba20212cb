import { Client } from 'pg';
import { loginRecord } from '@test/support/login-record';
import { createSharedDatabase } from '@test/support/server-process';
import { openDatabase, type Database } from '../database';
import { recordLogin } from '../login-write';
import { migrate } from '../migrator';
import { RETENTION_LOCK_ID, runRetentionPass, type RetentionPolicy } from './retention-pass';
import { until } from '@libs/testing/until';

const DAY = 86_400_000;
const POLICY: RetentionPolicy = {
  auditRetentionSeconds: 2 * 86_400,
  agentRetentionSeconds: 0,
  joinTokenRetentionSeconds: 0,
};

// Several replicas on one PostgreSQL (always on a real server, as the
// replica tests are: an embedded database has one process and no locks to
// wait for): one pass at a time, and partition DDL that never holds
// logins up behind a long reader.
describe('retention on a database shared by replicas', () => {
  let db: Database;
  let url: string;
  let drop: () => Promise<void>;
  const clients: Client[] = [];
  beforeAll(async () => {
    ({ url, drop } = await createSharedDatabase());
    db = await openDatabase({ kind: 'postgres', url });
    await migrate(db);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await db?.close();
    await drop?.();
  });

  async function session(): Promise<Client> {
    const client = new Client({ connectionString: url });
    clients.push(client);
    await client.connect();
    return client;
  }

  // every pass here is in June 2032, so that each sees only the partitions these tests made
  const now = new Date('2032-06-09T12:00:00Z');

  it('runs one pass at a time: while another replica holds the retention lock, a pass does nothing', async () => {
    const other = await session();
    await other.query('SELECT pg_advisory_lock($1)', [RETENTION_LOCK_ID]);
    expect(await runRetentionPass(db, POLICY, now, { batchRows: 100, lockTimeoutMs: 1000 })).toBeUndefined();
    await other.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_ID]);
    expect(await runRetentionPass(db, POLICY, now, { batchRows: 100, lockTimeoutMs: 1000 })).toMatchObject({
      partitions: { created: expect.arrayContaining(['audit_events_p20320609']) },
    });
  });

  it('lets a login through while dropping a partition waits for a long reader of audit_events: the drop gives up after its lock timeout and is retried next pass', async () => {
    const later = new Date(now.getTime() + 3 * DAY);
    // a reader (an audit export, a pg_dump) holding audit_events for as long as it reads
    const reader = await session();
    await reader.query('BEGIN');
    await reader.query('LOCK TABLE ONLY audit_events IN ACCESS SHARE MODE');

    const pass = runRetentionPass(db, POLICY, later, { batchRows: 100, lockTimeoutMs: 3000 });
    const waiting = await session();
    const detachWaits = async () =>
      (
        await waiting.query(
          `SELECT 1 FROM pg_locks WHERE relation = 'audit_events'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted`,
        )
      ).rowCount === 1;
    await until(detachWaits);

    // the login queues behind the waiting DETACH, but only until its lock timeout, not until the reader is done
    expect(await recordLogin(db, loginRecord())).toEqual({ outcome: 'recorded' });
    const result = await pass;
    expect(result?.partitions.busy).toEqual(['audit_events_p20320609']);
    await reader.query('COMMIT');

    const retried = await runRetentionPass(db, POLICY, later, { batchRows: 100, lockTimeoutMs: 3000 });
    expect(retried?.partitions.dropped).toEqual(['audit_events_p20320609']);
  });

  it('fails no insert while it makes the partition of the period logins are writing into, and moves the rows the default partition took for it', async () => {
    const writers = await Promise.all(Array.from({ length: 4 }, () => session()));
    // several periods with no partition yet, each written into while its partition is made
    for (let round = 0; round < 4; round++) {
      const at = new Date(Date.UTC(2036, 0, 15 + 10 * round, 12));
      const errors: string[] = [];
      let written = 0;
      let stop = false;
      const writing = writers.map(async (writer) => {
        while (!stop) {
          await writer
            .query(
              `INSERT INTO audit_events (at, event, outcome, attestors) VALUES ($1, 'login', 'success', '{aws_iid}')`,
              [at],
            )
            .then(
              () => written++,
              (error: Error) => errors.push(error.message),
            );
        }
      });
      let result;
      try {
        while (written < 50) await new Promise((done) => setTimeout(done, 5));
        result = await runRetentionPass(db, POLICY, at, { batchRows: 100, lockTimeoutMs: 5000 });
      } finally {
        stop = true;
        await Promise.all(writing);
      }

      expect(errors).toEqual([]);
      expect(result?.partitions.movedFromDefault).toBeGreaterThan(0);
      const where = await db.prisma.$queryRawUnsafe<{ partition: string; n: bigint }[]>(
        `SELECT tableoid::regclass::text AS partition, count(*) AS n FROM audit_events WHERE at = $1::timestamptz GROUP BY 1`,
        at.toISOString(),
      );
      expect(where).toEqual([
        { partition: `audit_events_p${at.toISOString().slice(0, 10).replaceAll('-', '')}`, n: BigInt(written) },
      ]);
    }
  });
});
