import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Database } from './database';

/** `prisma/migrations` of the project this code runs from, from source or from `dist/`. */
export const MIGRATIONS_DIR = findUp(__dirname, join('prisma', 'migrations'));

function findUp(from: string, relative: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) throw new Error(`cannot find ${relative} above ${from}`);
  }
}

// Prisma's own bookkeeping table, so `prisma migrate status/deploy` agree
// with what the server applied. Written by hand because Prisma's migrate
// engine is a separate binary that a server should not need at run time.
const PRISMA_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Applies every migration not yet recorded as finished, each in its own
 * transaction, and returns the names applied. Idempotent; replicas starting
 * together serialise on an advisory lock. A recorded migration whose file
 * changed since is an error: the schema would no longer match the code.
 */
export async function migrate(db: Database, migrations = readMigrations()): Promise<string[]> {
  return db.withMigrationLock(async () => {
    await db.runScript(PRISMA_MIGRATIONS_TABLE);
    const applied = await db.prisma.$queryRawUnsafe<{ migration_name: string; checksum: string }[]>(
      'SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const done = new Map(applied.map((row) => [row.migration_name, row.checksum]));
    const names: string[] = [];
    for (const migration of migrations) {
      const recorded = done.get(migration.name);
      if (recorded !== undefined) {
        if (recorded !== migration.checksum) {
          throw new Error(`migration ${migration.name} was modified after it was applied`);
        }
        continue;
      }
      await db.runScript(`BEGIN;\n${migration.sql}\n;${recordSql(migration)};\nCOMMIT;`);
      names.push(migration.name);
    }
    return names;
  });
}

function recordSql(migration: Migration): string {
  const quote = (value: string) => `'${value.replaceAll("'", "''")}'`;
  return `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
    VALUES (${quote(randomUUID())}, ${quote(migration.checksum)}, now(), ${quote(migration.name)}, 1)`;
}
