import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Database } from '@libs/persistence/database';
import { LoginWriteBatcher } from '@libs/persistence/login-batch';
import { recordLogin, type LoginRecord, type LoginWriteResult } from '@libs/persistence/login-write';
import { readFileSync } from 'node:fs';
import { hotStatement } from '@libs/persistence/database';
import { loginRecordLike, scratchDatabase, seedAgents, withDatabase } from './database';
import { fmt, printTable, type Row } from './report';

// `npm run bench:login-write`: the login write alone, on PostgreSQL
// (DATABASE_URL) or embedded PGlite, written one login per statement (as
// before group commit) and through LoginWriteBatcher, at several logins in
// flight. Writes per second and PostgreSQL's CPU per login (from /proc:
// the server processes of the bench's own connections, so that other work
// on the same PostgreSQL does not count), medians of rounds that alternate
// between the two, so that a change in the machine's load falls on both.

type Writer = (db: Database) => (login: LoginRecord) => Promise<LoginWriteResult>;

const WRITERS: Record<string, Writer> = {
  single: (db) => (login) => recordLogin(db, login),
  batched: (db) => {
    const batcher = new LoginWriteBatcher(db);
    return (login) => batcher.write(login);
  },
};

interface Sample {
  rate: number;
  postgresUs?: number;
}

/** CPU seconds (user + system) of each process still there, from /proc/<pid>/stat */
function cpuSeconds(pids: number[]): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      seconds.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // gone: an idle pool connection closed during the round (it did no work)
    }
  }
  return seconds;
}

/** The PostgreSQL processes serving this database's connections (the bench's own: it is a scratch database). */
async function backendPids(db: Database): Promise<number[]> {
  const rows = await db.runHot<{ pid: number }>(
    hotStatement`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`,
  );
  return rows.map((r) => r.pid);
}

async function measure(
  db: Database,
  write: (login: LoginRecord) => Promise<LoginWriteResult>,
  inFlight: number,
  count: number,
  localPostgres: boolean,
): Promise<Sample> {
  const logins = Array.from({ length: count }, (_, i) => loginRecordLike(i));
  let next = 0;
  const pids = localPostgres ? await backendPids(db) : [];
  const before = cpuSeconds(pids);
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < logins.length) {
      const written = await write(logins[next++]!);
      if (written.outcome !== 'recorded') throw new Error(`bench: login write ${written.outcome}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const rate = count / (Number(process.hrtime.bigint() - started) / 1e9);
  if (!localPostgres) return { rate };
  const after = cpuSeconds([...new Set([...pids, ...(await backendPids(db))])]);
  const spent = [...after].reduce((sum, [pid, seconds]) => sum + seconds - (before.get(pid) ?? 0), 0);
  return { rate, postgresUs: (spent * 1e6) / count };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '5' },
      writes: { type: 'string', default: '3000' },
      'in-flight': { type: 'string', default: '1,8,32,64' },
      writers: { type: 'string', default: 'single,batched' },
    },
    strict: true,
  });
  const agents = Number(values.agents);
  const rounds = Number(values.rounds);
  const writes = Number(values.writes);
  const inFlights = values['in-flight'].split(',').map(Number);
  const writers = values.writers.split(',');
  const home = mkdtempSync(join(tmpdir(), 'attestd-bench-write-'));
  const database = await scratchDatabase(process.env.DATABASE_URL, home);
  const localPostgres =
    database.url !== undefined && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(database.url).hostname);
  const samples = new Map<string, Sample[]>();
  try {
    await withDatabase(database.target, async (db) => {
      process.stderr.write(`bench: seeding ${agents.toLocaleString('en-US')} agents (${database.target.kind})\n`);
      await seedAgents(db, agents);
      for (const name of writers) await measure(db, WRITERS[name]!(db), 8, 300, localPostgres); // warm-up: plans, pool
      for (let round = 0; round < rounds; round++) {
        process.stderr.write(`bench: round ${round + 1} of ${rounds}\n`);
        for (const inFlight of inFlights) {
          for (const name of writers) {
            const key = `${name} ${inFlight}`;
            samples.set(key, [
              ...(samples.get(key) ?? []),
              await measure(db, WRITERS[name]!(db), inFlight, writes, localPostgres),
            ]);
          }
        }
      }
    });
  } finally {
    await database.drop();
    rmSync(home, { recursive: true, force: true });
  }
  const rows: Row[] = [...samples].flatMap(([key, s]) => {
    const postgres = s.every((x) => x.postgresUs !== undefined)
      ? ` / ${Math.round(median(s.map((x) => x.postgresUs!)))} µs PostgreSQL CPU`
      : '';
    return [{ metric: `login write, ${key} in flight`, value: `${fmt.rate(median(s.map((x) => x.rate)))}${postgres}` }];
  });
  printTable(
    `login write (${database.target.kind}, ${agents.toLocaleString('en-US')} agents, medians of ${rounds} rounds of ${writes})`,
    rows,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
