import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

// PostgreSQL's writes per operation (capacity model, `docs/operations/capacity.md`):
// the scratch database's own counters in pg_stat_database (transactions
// committed, rows inserted, updated and deleted), which other databases on
// the same server do not touch. A backend publishes its counters at most
// once a second while busy and within about 10 s of going idle, so a
// reading waits until they stop moving (some 11 s before and after each
// measured phase).

export interface PgWrites {
  commits: number;
  inserted: number;
  updated: number;
  deleted: number;
}

async function read(url: string): Promise<PgWrites> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ c: string; i: string; u: string; d: string }>(
      'SELECT xact_commit AS c, tup_inserted AS i, tup_updated AS u, tup_deleted AS d FROM pg_stat_database WHERE datname = current_database()',
    );
    const row = rows[0]!;
    return { commits: Number(row.c), inserted: Number(row.i), updated: Number(row.u), deleted: Number(row.d) };
  } finally {
    await client.end();
  }
}

/**
 * The counters once they have not moved for 11 s (at most `maxSeconds`):
 * an idle backend publishes what it still holds within 10 s.
 */
async function settled(url: string, maxSeconds: number): Promise<PgWrites> {
  let last = await read(url);
  let still = 0;
  for (let waited = 0; waited < maxSeconds && still < 11; waited++) {
    await sleep(1000);
    const now = await read(url);
    // each reading commits its own transaction: that alone is no change
    const moved =
      now.inserted !== last.inserted ||
      now.updated !== last.updated ||
      now.deleted !== last.deleted ||
      now.commits - last.commits > 1;
    still = moved ? 0 : still + 1;
    last = now;
  }
  return last;
}

/** Starts counting on the database at `url` (undefined: embedded, not counted). */
export async function pgWriteMeter(url: string | undefined) {
  const before = url === undefined ? undefined : await settled(url, 30);
  return {
    /** per operation, once the counters settle; undefined on the embedded database */
    async perOperation(operations: number): Promise<PgWrites | undefined> {
      if (url === undefined || before === undefined) return undefined;
      const after = await settled(url, 30);
      const n = Math.max(1, operations);
      // the readings' own few commits are noise against thousands of operations
      return {
        commits: (after.commits - before.commits) / n,
        inserted: (after.inserted - before.inserted) / n,
        updated: (after.updated - before.updated) / n,
        deleted: (after.deleted - before.deleted) / n,
      };
    },
  };
}

export function describeWrites(w: PgWrites | undefined): string {
  if (!w) return 'n/a';
  return `${w.commits.toFixed(2)} commits, ${w.inserted.toFixed(2)} ins, ${w.updated.toFixed(2)} upd, ${w.deleted.toFixed(2)} del`;
}
