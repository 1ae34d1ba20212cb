import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { Pool, type PoolClient, type PoolConfig } from 'pg';
import { Prisma, PrismaClient } from './generated/client';

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
  /** Runs one of the hot path's fixed statements straight on the driver (see `HotStatement`). */
  runHot<Row>(statement: HotStatement): Promise<Row[]>;
  /** Runs `fn` holding a database-wide advisory lock, so replicas migrate one at a time. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` on a connection of its own while it holds the advisory lock
   * `lockId`, so that one replica at a time does a maintenance job; when
   * another session holds the lock, does not run it and returns undefined.
   * Embedded PGlite has one owner, so there `fn` just runs.
   */
  withExclusiveSession<T>(
    lockId: number,
    fn: (session: MaintenanceSession) => Promise<T>,
  ): Promise<{ value: T } | undefined>;
  close(): Promise<void>;
}

/** The connection of a maintenance job (retention): statements, not Prisma. */
export interface MaintenanceSession {
  readonly kind: 'pglite' | 'postgres';
  /** One parameterised statement, in a transaction of its own. */
  query<Row>(text: string, values?: unknown[]): Promise<Row[]>;
  /**
   * A script of several statements without parameters (DDL), in one
   * transaction, rolled back whole when one fails. On PGlite no other
   * caller's statement runs in between.
   */
  transaction(script: string): Promise<void>;
}

export type DatabaseTarget =
  | {
      kind: 'postgres';
      url: string;
      /** how long an idle connection above the pools' minimum lives (pg's default 10 s; tests shorten it) */
      idleTimeoutMs?: number;
    }
  | { kind: 'pglite'; dataDir?: string }; // no dataDir: in memory

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  return target.kind === 'postgres' ? openPostgres(target.url, target.idleTimeoutMs) : openPglite(target.dataDir);
}

/**
 * A fixed statement of the login path (`hotStatement` builds one): it goes
 * to the driver directly, not through Prisma's raw-query path, which cost
 * ~200 µs of CPU per call here, and on PostgreSQL it is a named prepared
 * statement on a connection pool of its own that plans it once, generically
 * (see `HOT_POOL_OPTIONS`).
 */
export interface HotStatement {
  name: string;
  text: string;
  values: unknown[];
}

/**
 * Builds a HotStatement from a tagged template, parameters as `$n`. A call
 * site's template strings are one object for the life of the process, and
 * values here are plain parameters (never SQL fragments), so the text (by
 * Prisma's own `sql` tag) and its name are made once per call site rather
 * than on every login.
 */
export function hotStatement(strings: TemplateStringsArray, ...values: unknown[]): HotStatement {
  let made = hotStatements.get(strings);
  if (made === undefined) {
    const { text } = Prisma.sql(strings, ...(values as Prisma.Sql[]));
    made = { name: `attestd_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
    hotStatements.set(strings, made);
  }
  return { ...made, values };
}

const hotStatements = new WeakMap<TemplateStringsArray, { name: string; text: string }>();

/**
 * The login write is a many-CTE statement whose planning cost more than
 * running it (2.5 ms vs 1.8 ms, EXPLAIN ANALYZE). Left to decide,
 * PostgreSQL kept choosing a fresh custom plan per call; forcing the generic
 * plan cut its server CPU from ~700 to ~350 µs per login and doubled the
 * write rate (1,870/s to 3,700/s at 16 in flight). The setting is scoped to
 * the hot pool so that Prisma's ad hoc queries keep their custom plans.
 */
const HOT_POOL_OPTIONS = '-c plan_cache_mode=force_generic_plan';

/**
 * The hot pool keeps every connection it opens (pg-pool's `min`). With pg's
 * default idle timeout of 10 s, a lull closed them, and the next burst paid
 * for new connections and for planning each hot statement again on each:
 * in the bench, whose phases are 11 s apart, p99 at half load fell from
 * 220-320 ms to 13-38 ms and renewals at saturation rose from about 300 to
 * 600 per second once the connections stayed. Ten idle backends cost
 * PostgreSQL a few MiB each.
 */
const HOT_POOL_SIZE = 10;

const MIGRATION_LOCK_ID = 0x61747465; // "atte"

function postgresSession(client: PoolClient): MaintenanceSession {
  return {
    kind: 'postgres',
    async query<Row>(text: string, values: unknown[] = []) {
      return (await client.query(text, values)).rows as Row[];
    },
    async transaction(script) {
      await client.query('BEGIN');
      try {
        await client.query(script);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    },
  };
}

function pgliteSession(pglite: PGlite): MaintenanceSession {
  return {
    kind: 'pglite',
    async query<Row>(text: string, values: unknown[] = []) {
      return (await pglite.query<Row>(text, values)).rows;
    },
    // PGlite is one connection shared by every caller: its transaction()
    // holds it, so a login's statement cannot land inside this transaction.
    async transaction(script) {
      await pglite.transaction(async (tx) => {
        await tx.exec(script);
      });
    },
  };
}

/**
 * An idle connection the server closes (restart, failover) must not crash
 * the process; the pool replaces it and the next query reports any outage.
 */
function quietPool(config: PoolConfig): Pool {
  const pool = new Pool(config);
  pool.on('error', () => undefined);
  return pool;
}

async function openPostgres(url: string, idleTimeoutMillis?: number): Promise<Database> {
  const idle = idleTimeoutMillis === undefined ? {} : { idleTimeoutMillis };
  const pool = quietPool({ connectionString: url, max: 6, ...idle });
  const hotPool = quietPool({
    connectionString: url,
    max: HOT_POOL_SIZE,
    min: HOT_POOL_SIZE,
    options: HOT_POOL_OPTIONS,
    ...idle,
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    kind: 'postgres',
    async runScript(sql) {
      await pool.query(sql);
    },
    async runHot<Row>(statement: HotStatement) {
      return (await hotPool.query(statement)).rows as Row[];
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
    async withExclusiveSession(lockId, fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      // The connection may drop between two statements (a restart, a
      // failover): the pool only listens on idle clients, so this one must.
      const dropped = (error: Error) => (broken = error);
      client.on('error', dropped);
      try {
        const locked = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [lockId]);
        if (!locked.rows[0]?.locked) return undefined;
        try {
          return { value: await fn(postgresSession(client)) };
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [lockId]).catch((error: Error) => (broken = error));
        }
      } catch (error) {
        broken = error as Error;
        throw error;
      } finally {
        client.off('error', dropped);
        // A connection in doubt is closed, not pooled: that frees its lock too.
        client.release(broken);
      }
    },
    async close() {
      await prisma.$disconnect();
      await Promise.all([pool.end(), hotPool.end()]);
    },
  };
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) writes its files through
 * Emscripten's file system with modes 0666 and 0777, less the process's
 * umask: under the usual 022 its tables, WAL and the keys in them would be
 * readable by every local user. While an embedded database is open the
 * umask keeps group and others out (0600 files, 0700 directories); it is
 * given back when the last one closes.
 */
const OWNER_ONLY_UMASK = 0o077;
let openOnDisk = 0;
let umaskBefore = 0;

function ownerOnlyFiles(): () => void {
  if (openOnDisk++ === 0) {
    umaskBefore = process.umask(OWNER_ONLY_UMASK); // (the only way to read the umask that is not deprecated is to set it)
    process.umask(umaskBefore | OWNER_ONLY_UMASK);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--openOnDisk === 0) process.umask(umaskBefore);
  };
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  const release = dataDir ? ownerOnlyFiles() : () => undefined;
  let pglite: PGlite;
  try {
    if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    pglite = await PGlite.create(dataDir);
  } catch (error) {
    release();
    throw error;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    prisma,
    kind: 'pglite',
    async runScript(sql) {
      await pglite.exec(sql);
    },
    async runHot<Row>(statement: HotStatement) {
      return (await pglite.query<Row>(statement.text, statement.values)).rows;
    },
    // One process owns an embedded database, so there is no one to wait for.
    withMigrationLock: (fn) => fn(),
    withExclusiveSession: async (_lockId, fn) => ({ value: await fn(pgliteSession(pglite)) }),
    async close() {
      try {
        await prisma.$disconnect();
        await pglite.close();
      } finally {
        release();
      }
    },
  };
}
