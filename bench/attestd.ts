import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificatesSection, fleetPolicy, type Fleet } from './aws-fleet';
import { builtScript, rssMiBOf, startNodeProcess, type ServerProcess } from './server-process';

// attestd as the bench runs it: the built server in processes of its own
// (one per replica, all on the same database and data directory's
// policies), at the default log level, with the per-source limits lifted
// (one load generator is one source address; its warm-up holds 200
// connections).

export interface Attestd {
  replicas: ServerProcess[];
  adminToken: string;
  stop(): Promise<void>;
}

export async function startAttestd(
  home: string,
  fleet: Fleet,
  databaseUrl: string | undefined,
  options: { replicas: number; profileDir?: string },
): Promise<Attestd> {
  const policies = join(home, 'policies');
  mkdirSync(policies, { recursive: true });
  writeFileSync(join(policies, 'agents.yaml'), fleetPolicy());
  writeFileSync(join(policies, 'iid-certificates.yaml'), certificatesSection(fleet.certificatePem));
  const adminToken = randomBytes(24).toString('base64url');
  const env: Record<string, string> = {
    ...fleet.sim.endpointEnv(),
    ATTESTD_DATA_DIR: home,
    ATTESTD_POLICIES_DIR: policies,
    ATTESTD_ADMIN_TOKENS: adminToken,
    ATTESTD_LOG_LEVEL: 'info', // the default: what a deployment pays
    ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '1000000',
    ATTESTD_RATE_LIMIT_AGENT_BURST: '1000000',
    ATTESTD_HTTP_MAX_CONNECTIONS_PER_SOURCE: '100000',
    DATABASE_URL: databaseUrl ?? '',
    ATTESTD_DATABASE_URL: databaseUrl ?? '',
    // required on PostgreSQL (every replica must open the same stored keys); the embedded database makes its own
    ...(databaseUrl && { ATTESTD_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') }),
  };
  if (options.profileDir) {
    // an earlier run's profiles would be read as this one's
    rmSync(options.profileDir, { recursive: true, force: true });
    mkdirSync(options.profileDir, { recursive: true });
  }
  const nodeArgs = [
    '-r',
    builtScript('bench', 'exit-on-signal.js'),
    ...(options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : []),
    ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
  ];
  const replicas: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(replicas.map((r) => r.stop()));
  };
  try {
    // one after the other: the first makes the CA and stores the keys the others then open
    for (let i = 0; i < options.replicas; i++)
      replicas.push(
        await startNodeProcess(builtScript('apps', 'server', 'main.js'), env, { readyPath: '/readyz', nodeArgs }),
      );
  } catch (error) {
    await stop();
    throw error;
  }
  return { replicas, adminToken, stop };
}

/** The peak RSS of the servers' processes (their sum), sampled every 100 ms. */
export function sampleRss(pids: number[]) {
  const now = () => pids.reduce((sum, pid) => sum + rssMiBOf(pid), 0);
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, now());
  }, 100);
  return {
    reset: () => {
      peak = now();
    },
    peak: () => Math.max(peak, now()),
    stop: () => clearInterval(timer),
  };
}
