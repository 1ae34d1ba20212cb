import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { openDatabase, type Database } from '@libs/persistence/database';
import { migrate } from '@libs/persistence/migrator';
import { copyMigratedPglite } from './pglite-template';
import { refuseInUnitTier } from './tier';

/**
 * An empty database of its own for one test file on the server named by
 * TEST_DATABASE_URL (CI sets it); without it, no URL: the caller uses
 * embedded PGlite.
 */
export async function createScratchDatabase(): Promise<{ url?: string; drop(): Promise<void> }> {
  refuseInUnitTier('database');
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) return { drop: async () => undefined };
  const name = `attestd_test_${randomBytes(6).toString('hex')}`;
  await runAsAdmin(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => runAsAdmin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export interface TestDatabase {
  db: Database;
  drop(): Promise<void>;
}

/** A fresh, migrated database opened in this process (PGlite in a temporary directory, or a scratch database). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const scratch = await createScratchDatabase();
  const dir = scratch.url ? undefined : mkdtempSync(join(tmpdir(), 'attestd-db-'));
  const remove = () => dir && rmSync(dir, { recursive: true, force: true });
  try {
    if (dir) await copyMigratedPglite(join(dir, 'pglite'));
    const db = await openDatabase(
      scratch.url ? { kind: 'postgres', url: scratch.url } : { kind: 'pglite', dataDir: join(dir!, 'pglite') },
    );
    await migrate(db);
    return {
      db,
      async drop() {
        await db.close();
        await scratch.drop();
        remove();
      },
    };
  } catch (error) {
    await scratch.drop();
    remove();
    throw error;
  }
}

/** Runs one statement on the TEST_DATABASE_URL server as its administrator. */
export async function runAsAdmin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
