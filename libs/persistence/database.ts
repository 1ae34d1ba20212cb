import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { Pool } from 'pg';
import { PrismaClient } from './generated/client';

/**
 * The one handle on PostgreSQL: a Prisma client, plus the driver underneath
 * for the two things Prisma's client does not do (multi-statement migration
 * scripts and LISTEN/NOTIFY). Embedded PGlite by default, a real server when
 * a `postgresql://` URL is given; the same SQL runs on both.
 */
export interface Database {
  readonly prisma: PrismaClient;
  readonly kind: 'pglite' | 'postgres';
  /** Runs a script of several statements (simple query protocol). */
  runScript(sql: string): Promise<void>;
  /** Runs `fn` holding a database-wide advisory lock, so replicas migrate one at a time. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type DatabaseTarget =
  | { kind: 'postgres'; url: string }
  | { kind: 'pglite'; dataDir?: string }; // no dataDir: in memory

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  return target.kind === 'postgres' ? openPostgres(target.url) : openPglite(target.dataDir);
}

/** Marks hot-path SQL worth a server-side prepared statement (see `preparedStatementName`). */
export const PREPARED = '/* prepared */';

/**
 * Names the statements that start with PREPARED so `pg` prepares them once
 * per connection and PostgreSQL can reuse the plan: the login write is a
 * many-CTE statement whose planning costs more than running it (2.7 ms vs
 * 1.1 ms measured). Only these fixed statements get names; naming every
 * query builder statement would pile up prepared statements on each
 * connection. The adapter's type wants a string; `undefined` means unnamed.
 */
function preparedStatementName(query: { sql: string }): string {
  if (!query.sql.startsWith(PREPARED)) return undefined as unknown as string;
  return `attestd_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`;
}

const MIGRATION_LOCK_ID = 0x61747465; // "atte"

async function openPostgres(url: string): Promise<Database> {
  const pool = new Pool({ connectionString: url, max: 10 });
  // An idle connection the server closes (restart, failover) must not crash
  // the process; the pool replaces it and the next query reports any outage.
  pool.on('error', () => undefined);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { statementNameGenerator: preparedStatementName }) });
  return {
    prisma,
    kind: 'postgres',
    async runScript(sql) {
      await pool.query(sql);
    },
    async withMigrationLock(fn) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
        client.release();
      }
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    prisma,
    kind: 'pglite',
    async runScript(sql) {
      await pglite.exec(sql);
    },
    // One process owns an embedded database, so there is no one to wait for.
    withMigrationLock: (fn) => fn(),
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
