import { readFileSync } from 'node:fs';
import { Client } from 'pg';

// Where the CPU goes during a timed phase: the server process, the load
// generator (this process) and, when PostgreSQL runs on this machine, the
// backends serving the bench's scratch database (not the server's other
// processes: other work on the same PostgreSQL would be counted too; its
// background writers are left out), read from Linux /proc. On two cores
// they share the machine, so a login's cost is their sum, not the
// server's alone.

/** clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux) */
const TICKS_PER_SECOND = 100;

export interface CpuShares {
  /** CPU microseconds per operation; with replicas, all of them together */
  serverUs: number;
  loadGeneratorUs: number;
  /** undefined for embedded PGlite (it runs inside the server) or a PostgreSQL elsewhere */
  postgresUs?: number;
}

function cpuSecondsOf(pid: number): number {
  try {
    // fields after the parenthesised command name: state is 3rd, utime 14th, stime 15th
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0; // the process ended between listing and reading
  }
}

/** The backends serving the scratch database at `url` (not the server's other databases, which other work may be using). */
export async function backendPids(url: string): Promise<number[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

/**
 * Starts counting; `perOperation(n)` divides what was spent since by `n`
 * operations. `serverPids`: one per replica. `localDatabaseUrl`: the
 * scratch database, when its PostgreSQL server runs on this machine.
 */
export async function cpuMeter(serverPids: number[], localDatabaseUrl: string | undefined) {
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuSecondsOf(pid), 0);
  const server = sum(serverPids);
  const self = process.cpuUsage();
  const backends = new Map<number, number>();
  for (const pid of localDatabaseUrl ? await backendPids(localDatabaseUrl) : []) backends.set(pid, cpuSecondsOf(pid));
  return {
    async perOperation(operations: number): Promise<CpuShares> {
      const n = Math.max(1, operations);
      const own = process.cpuUsage(self);
      const serverUs = ((sum(serverPids) - server) * 1e6) / n;
      let postgresUs: number | undefined;
      if (localDatabaseUrl) {
        // a backend that started during the phase spent all its CPU in it
        const now = await backendPids(localDatabaseUrl);
        postgresUs = (now.reduce((total, pid) => total + cpuSecondsOf(pid) - (backends.get(pid) ?? 0), 0) * 1e6) / n;
      }
      return {
        serverUs,
        loadGeneratorUs: (own.user + own.system) / n,
        ...(postgresUs !== undefined && { postgresUs }),
      };
    },
  };
}
