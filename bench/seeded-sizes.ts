import { join } from 'node:path';
import { loginWriteRate, scratchDatabase, seedAgents, withDatabase } from './database';

// The login write at other fleet sizes than the main run's 100,000 agents
// (issue: "plan bug"): a generic plan that misjudges a CTE's rows turned to
// sequential scans of tofu_keys between about 5,000 and 25,000 agents,
// which 100,000 never shows. 10,000 agents always; 1,000,000 with
// `--million` (seeding them takes a few minutes on PostgreSQL here).

export interface SeededSizeRate {
  agents: number;
  /** login writes per second, 8 in flight */
  rate: number;
  seedSeconds: number;
}

export async function loginWriteAtSizes(
  serverUrl: string | undefined,
  home: string,
  sizes: number[],
  writes: number,
  log: (text: string) => void,
): Promise<SeededSizeRate[]> {
  const results: SeededSizeRate[] = [];
  for (const agents of sizes) {
    const database = await scratchDatabase(serverUrl, join(home, `agents-${agents}`));
    try {
      log(`seeded sizes: ${agents.toLocaleString('en-US')} agents, then the login write (${database.target.kind})`);
      results.push(
        await withDatabase(database.target, async (db) => {
          const started = process.hrtime.bigint();
          await seedAgents(db, agents);
          const seedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
          return { agents, rate: await loginWriteRate(db, { count: writes, concurrency: 8 }), seedSeconds };
        }),
      );
    } finally {
      await database.drop();
    }
  }
  return results;
}
