import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Database } from '../libs/persistence/database';
import { LoginWriteBatcher } from '../libs/persistence/login-batch';
import { recordLogin, type LoginRecord, type LoginWriteResult } from '../libs/persistence/login-write';
import { cpuMeter } from './cpu-accounting';
import { loginRecordLike, scratchDatabase, seedAgents, withDatabase } from './database';
import { fmt, printTable, type Row } from './report';

// `npm run bench:login-write`: the login write alone, on PostgreSQL
// (DATABASE_URL) or embedded PGlite, written one login per statement (as
// before group commit) and through LoginWriteBatcher, at several logins in
// flight. Writes per second and PostgreSQL's CPU per login (its processes
// on this machine, from /proc), medians of rounds that alternate between
// the two, so that a change in the machine's load falls on both.

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

async function measure(db: Database, write: (login: LoginRecord) => Promise<LoginWriteResult>, inFlight: number, count: number, localPostgres: boolean): Promise<Sample> {
  const logins = Array.from({ length: count }, (_, i) => loginRecordLike(i));
  let next = 0;
  const meter = cpuMeter(process.pid, localPostgres);
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < logins.length) {
      const written = await write(logins[next++]!);
      if (written.outcome !== 'recorded') throw new Error(`bench: login write ${written.outcome}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const rate = count / (Number(process.hrtime.bigint() - started) / 1e9);
  return { rate, postgresUs: meter.perOperation(count).postgresUs };
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
  const localPostgres = database.url !== undefined && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(database.url).hostname);
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
            samples.set(key, [...(samples.get(key) ?? []), await measure(db, WRITERS[name]!(db), inFlight, writes, localPostgres)]);
          }
        }
      }
    });
  } finally {
    await database.drop();
    rmSync(home, { recursive: true, force: true });
  }
  const rows: Row[] = [...samples].flatMap(([key, s]) => {
    const postgres = s.every((x) => x.postgresUs !== undefined) ? ` / ${Math.round(median(s.map((x) => x.postgresUs!)))} µs PostgreSQL CPU` : '';
    return [{ metric: `login write, ${key} in flight`, value: `${fmt.rate(median(s.map((x) => x.rate)))}${postgres}` }];
  });
  printTable(`login write (${database.target.kind}, ${agents.toLocaleString('en-US')} agents, medians of ${rounds} rounds of ${writes})`, rows);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
