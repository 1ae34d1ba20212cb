import { readdirSync, readFileSync } from 'node:fs';

// Where the CPU goes during a timed phase: the server process, the load
// generator (this process) and PostgreSQL's processes when they run on this
// machine, read from Linux /proc. On two cores the three share the machine,
// so a login's cost is their sum, not the server's alone.

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

function postgresPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    })
    .map(Number);
}

function postgresCpuSeconds(): number | undefined {
  const pids = postgresPids();
  return pids.length === 0 ? undefined : pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
}

/**
 * Starts counting; `perOperation(n)` divides what was spent since by `n`
 * (the servers' `serverPids`: one per replica)
 * operations. `localPostgres`: the database is a PostgreSQL server on this
 * machine (else its processes, if any, are not the bench's).
 */
export function cpuMeter(serverPids: number[], localPostgres: boolean) {
  const serversCpu = () => serverPids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  const server = serversCpu();
  const self = process.cpuUsage();
  const postgres = localPostgres ? postgresCpuSeconds() : undefined;
  return {
    perOperation(operations: number): CpuShares {
      const n = Math.max(1, operations);
      const own = process.cpuUsage(self);
      const postgresNow = localPostgres ? postgresCpuSeconds() : undefined;
      return {
        serverUs: ((serversCpu() - server) * 1e6) / n,
        loadGeneratorUs: (own.user + own.system) / n,
        ...(postgres !== undefined && postgresNow !== undefined && { postgresUs: ((postgresNow - postgres) * 1e6) / n }),
      };
    },
  };
}
