import { createSharedDatabase } from '@test/support/server-process';
import { hotStatement, openDatabase, type Database } from './database';

// The hot pool's connections carry the login and renewal statements'
// generic plans: one closed by an idle spell costs the next burst a new
// connection and a new plan for each statement (database.ts, HOT_POOL_SIZE).
// PostgreSQL only: the embedded database has one connection and no pool.

const IDLE_MS = 50;

describe('the hot pool on PostgreSQL', () => {
  let shared: { url: string; drop(): Promise<void> } | undefined;
  let db: Database | undefined;

  beforeAll(async () => {
    shared = await createSharedDatabase();
    db = await openDatabase({ kind: 'postgres', url: shared.url, idleTimeoutMs: IDLE_MS });
  });

  afterAll(async () => {
    await db?.close();
    await shared?.drop();
  });

  /** the backends of `n` statements held open at once, so each takes a connection of its own */
  const backends = async (n: number): Promise<Set<number>> => {
    const rows = await Promise.all(
      Array.from({ length: n }, () =>
        db!.runHot<{ pid: number }>(hotStatement`SELECT pg_backend_pid() AS pid, pg_sleep(${0.1}::float8)`),
      ),
    );
    return new Set(rows.map((r) => r[0]!.pid));
  };

  it('keeps its connections through an idle spell longer than the idle timeout', async () => {
    const before = await backends(6);
    expect(before.size).toBe(6);
    // the spell under test: several idle timeouts with nothing to run
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS * 6));
    const after = await backends(6);
    expect([...after].filter((pid) => before.has(pid))).toHaveLength(6);
  });
});
