import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fleetPolicy, loginOperation, startFleet, type HeldAgent, type Route } from './aws-fleet';
import { sampleRss, startAttestd, type Attestd } from './attestd';
import { combineCeiling, iidVerifyRate, pkijsVerifyRate, svidSignRate } from './ceiling';
import { cpuMeter } from './cpu-accounting';
import { loginWriteRate, scratchDatabase, seedAgents, withDatabase } from './database';
import { GROWTH_ROWS, measureGrowth, type GrowthResult } from './growth';
import { HttpClient, closedLoop, openLoop, type LoadResult, type Operation } from './http-load';
import { latencyLog } from './latency-log';
import { pgWriteMeter } from './pg-writes';
import { monotonicMicros, profileByPhase, type PhaseWindow } from './profile-top';
import { JWT_SVID_AGENTS, jwtSvidOperation, renewOperation } from './renewals';
import { fmt, printTable, writeResults, type Row } from './report';
import { compareRuleEngines } from './rules';
import { loginWriteAtSizes } from './seeded-sizes';
import { builtScript, startNodeProcess } from './server-process';
import {
  TARGETS,
  ceilingRows,
  growthTableRows,
  phaseRows,
  rulesRows,
  seededSizeRows,
  type Phase,
  type PhasePair,
} from './table';

// `npm run bench`: attestd (built, its own process or processes, log level
// info) on PostgreSQL (DATABASE_URL) or embedded PGlite, the AWS simulator,
// and a keep-alive load generator: aws_iid logins, SVID renewals and
// JWT-SVIDs, each at saturation and at half that rate; the machine's
// ceiling for a login's work; the login write at other fleet sizes;
// compiled rules against json-rules-engine; cloud calls per login in a
// burst; the servers' RSS with 100,000 agents stored. See README.md,
// "Performance", and docs/operations/capacity.md.

/** The cloud caches hold 10,000 entries each: a timed group must fit whole. */
const MAX_GROUP = 9500;
const BURST = 1000;
const SEEDED_AGENTS = 100_000;
const SATURATION_CLIENTS = 32;
/**
 * Warm-up logins meet uncached instances: their EC2 look-ups are batched,
 * and partial batches are spaced up to 2 s apart (`batcher.ts`), so 32
 * clients would warm only 16 instances a second and a large group would
 * outlive the cache's TTL before its timed phase. Enough clients to fill
 * whole batches (which go at once) keep warming fast; 200 stays under
 * the server's cap of 256 logins in verification.
 */
const WARM_UP_CLIENTS = 200;
/**
 * Each half-load phase starts with this many seconds at its rate, untimed.
 * Without it, the first quarter-second of a phase ran at 40-110 ms per
 * operation against a steady 5-10 ms: the agent phases began straight
 * after the write counters' idle wait of 11 s or more (V8 shrinks the heap
 * and drops compiled code in a lull), the login phase straight after its
 * warm-up burst of 200 clients and a policy push.
 */
const HALF_LOAD_WARM_UP = 1;
/** a first short saturation run, to size the timed groups */
const PROBE = 500;

interface Options {
  seconds: number;
  quick: boolean;
  profile: boolean;
  /** the growth rows (5 million audit events and nonces); undefined: on PostgreSQL, unless --quick */
  growth: boolean | undefined;
  /** only the growth rows */
  growthOnly: boolean;
  /** attestd processes on the one database (the load is spread over them) */
  replicas: number;
  /** also the login write with 1,000,000 agents seeded (a few minutes more) */
  million: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      growth: { type: 'boolean' },
      'growth-only': { type: 'boolean', default: false },
      replicas: { type: 'string', default: '1' },
      million: { type: 'boolean', default: false },
    },
    strict: true,
    allowNegative: true,
  });
  const quick = values.quick ?? false;
  const seconds = values.duration === undefined ? (quick ? 1.5 : 5) : Number(values.duration);
  if (!(seconds > 0 && seconds <= 60))
    throw new Error('--duration: seconds per timed phase, more than 0 and at most 60');
  const replicas = Number(values.replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 4)
    throw new Error('--replicas: 1 to 4 attestd processes');
  return {
    seconds,
    quick,
    profile: values.profile ?? false,
    growth: values.growth,
    growthOnly: values['growth-only'] ?? false,
    replicas,
    million: values.million ?? false,
  };
}

function step(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
  latencyLog.step(text);
}

async function main(): Promise<void> {
  const opts = options();
  const resultsDir = join(process.cwd(), 'bench-results');
  const home = mkdtempSync(join(tmpdir(), 'attestd-bench-'));
  if (opts.growthOnly) return growthOnly(home, resultsDir, opts.quick);
  const serverUrl = process.env.DATABASE_URL ?? process.env.ATTESTD_DATABASE_URL;
  const group = opts.quick ? 2500 : MAX_GROUP;
  const micro = opts.quick ? 0.5 : 2;
  const loadAtStart = loadavg();

  step(`signing ${PROBE + 2 * group + BURST} instance identity documents`);
  const fleet = await startFleet({ probe: PROBE, saturation: group, halfLoad: group, burst: BURST });
  const database = await scratchDatabase(serverUrl, home);
  let attestd: Attestd | undefined;
  try {
    step(
      `seeding ${SEEDED_AGENTS.toLocaleString('en-US')} agents and measuring the login write (${database.target.kind})`,
    );
    const writes = opts.quick ? 1000 : 4000;
    const loginWritePerSecond = await withDatabase(database.target, async (db) => {
      await seedAgents(db, SEEDED_AGENTS);
      return loginWriteRate(db, { count: writes, concurrency: 8 });
    });
    const seededSizes = await loginWriteAtSizes(
      serverUrl,
      home,
      [10_000, ...(opts.million ? [1_000_000] : [])],
      writes,
      step,
    );

    step('measuring the ceiling: IID verify (ours and pkijs), SVID signature, bare Fastify');
    const sample = fleet.groups.burst![0]!;
    const iidVerifyPerSecond = iidVerifyRate(sample.document, sample.signature, fleet.certificatePem, micro);
    const pkijsVerifyPerSecond = await pkijsVerifyRate(sample.signature, micro);
    const svidSignPerSecond = svidSignRate(micro);
    const fastify = await bareFastify(opts.seconds);
    const ceiling = combineCeiling({
      iidVerifyPerSecond,
      svidSignPerSecond,
      loginWritePerSecond,
      fastifyRoundTripPerSecond: fastify.rate,
    });

    step('comparing compiled rules with json-rules-engine');
    const rules = await compareRuleEngines(micro);

    step(`starting attestd (${opts.replicas} replica${opts.replicas > 1 ? 's' : ''})`);
    attestd = await startAttestd(home, fleet, database.url, {
      replicas: opts.replicas,
      ...(opts.profile && { profileDir: join(resultsDir, 'profiles') }),
    });
    const pids = attestd.replicas.map((r) => r.pid);
    const localDatabaseUrl =
      database.url !== undefined && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(database.url).hostname)
        ? database.url
        : undefined;
    const rssIdle = attestd.replicas.reduce((sum, r) => sum + r.rssMiB(), 0);
    const rss = sampleRss(pids);
    const clients = attestd.replicas.map((r) => new HttpClient(r.url, 256));
    const route: Route = (index) => clients[index % clients.length]!;
    const adminToken = attestd.adminToken;
    const push = async (document: string) => {
      const answer = await clients[0]!.call('PUT', '/v1/config/AgentAttestation', document, {
        'content-type': 'application/yaml',
        authorization: `Bearer ${adminToken}`,
      });
      if (answer.status !== 200) throw new Error(`bench: config push ${answer.status}: ${answer.body}`);
      // the other replicas activate it on PostgreSQL's notification, milliseconds later
      if (clients.length > 1) await sleep(1000);
    };

    step(`burst: ${BURST} new instances, cold caches`);
    await push(fleetPolicy());
    fleet.sim.log.reset();
    const burst = await closedLoop({
      concurrency: 200,
      seconds: 120,
      maxOperations: BURST,
      op: loginOperation(route, fleet.groups.burst!, fleet.keys),
    });
    const burstCloudCalls = fleet.sim.log.count();

    /** CPU, writes (on PostgreSQL, `writes`) and peak RSS around one timed run */
    /** timed phases, for `--profile` */
    const windows: PhaseWindow[] = [];
    const measured = async (
      writes: boolean,
      run: () => Promise<LoadResult & { warmUpOperations?: number }>,
      profiledAs?: string,
    ): Promise<Phase & { rssPeakMiB: number }> => {
      const pg = writes ? await pgWriteMeter(database.url) : undefined;
      for (const client of clients) client.fresh();
      rss.reset();
      const cpu = await cpuMeter(pids, localDatabaseUrl);
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const from = monotonicMicros();
      latencyLog.step(`timed: ${profiledAs ?? 'probe'}`);
      const result = await run();
      latencyLog.step('timed phase ends');
      if (profiledAs) windows.push({ name: profiledAs, from, to: monotonicMicros() });
      delay.disable();
      const loadGeneratorDelayMs = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
      // an open loop's untimed warm-up ran the same operations in the same window
      const cpuPerOperation = await cpu.perOperation(result.operations + (result.warmUpOperations ?? 0));
      const rssPeakMiB = rss.peak();
      const writesPerOperation = await pg?.perOperation(result.operations);
      return {
        result,
        cpuPerOperation,
        rssPeakMiB,
        loadGeneratorDelayMs,
        ...(writesPerOperation && { writesPerOperation }),
      };
    };

    // Each timed group is warmed whole first (denied logins: verified, looked
    // up, refused by the rules, nothing stored); warming costs about what the
    // timed logins cost, so a group is sized to what its phase will use.
    const agents: HeldAgent[] = [];
    const timedLogins = async (
      name: string,
      size: number,
      run: (op: Operation, count: number) => Promise<LoadResult>,
      round: number,
      writes: boolean,
    ) => {
      const proofs = fleet.groups[name]!.slice(0, size);
      step(`${name}: warming the cloud cache with ${proofs.length} denied logins`);
      await push(fleetPolicy(round));
      const warm = await closedLoop({
        concurrency: WARM_UP_CLIENTS,
        seconds: 600,
        maxOperations: proofs.length,
        op: loginOperation(route, proofs, fleet.keys, 403),
      });
      if (warm.succeeded !== proofs.length) throw new Error(`bench: warm-up outcomes ${JSON.stringify(warm.outcomes)}`);
      await push(fleetPolicy());
      fleet.sim.log.reset();
      step(`${name}: timed logins`);
      const phase = await measured(
        writes,
        () => run(loginOperation(route, proofs, fleet.keys, 200, agents), proofs.length),
        name === 'probe' ? undefined : `${name} logins`,
      );
      return { ...phase, cloudCalls: fleet.sim.log.count(), warmUpRate: warm.rate };
    };
    const saturated = (op: Operation, count: number) =>
      closedLoop({ concurrency: SATURATION_CLIENTS, seconds: opts.seconds, maxOperations: count, op });
    const probe = await timedLogins(
      'probe',
      PROBE,
      (op, count) => closedLoop({ concurrency: SATURATION_CLIENTS, seconds: 60, maxOperations: count, op }),
      1,
      false,
    );
    const saturationSize = Math.min(group, Math.ceil(probe.result.rate * opts.seconds * 1.5) + 200);
    const saturation = await timedLogins('saturation', saturationSize, saturated, 2, true);
    const halfRate = saturation.result.rate / 2;
    const halfLoad = await timedLogins(
      'halfLoad',
      Math.min(group, Math.ceil(halfRate * (HALF_LOAD_WARM_UP + opts.seconds)) + 1),
      (op, count) =>
        openLoop({ rate: halfRate, seconds: opts.seconds, maxOperations: count, op, warmUpSeconds: HALF_LOAD_WARM_UP }),
      3,
      false,
    );

    /** An agent operation at saturation (after a short warm-up), then at half that rate. */
    const agentPhases = async (name: string, op: Operation, agentCount: number): Promise<PhasePair> => {
      step(`${name}: ${agentCount} agents, warm-up, saturation, half load`);
      await closedLoop({ concurrency: SATURATION_CLIENTS, seconds: 1, maxOperations: 500, op });
      const sat = await measured(
        true,
        () => closedLoop({ concurrency: SATURATION_CLIENTS, seconds: opts.seconds, maxOperations: Infinity, op }),
        `saturation ${name}`,
      );
      const rate = sat.result.rate / 2;
      const half = await measured(
        false,
        () => openLoop({ rate, seconds: opts.seconds, maxOperations: Infinity, op, warmUpSeconds: HALF_LOAD_WARM_UP }),
        `half load ${name}`,
      );
      return { saturation: sat, halfLoad: half };
    };
    const renewals = await agentPhases('renewals', renewOperation(route, agents, fleet.keys), agents.length);
    const jwtSvids = await agentPhases(
      'JWT-SVIDs',
      jwtSvidOperation(route, agents, fleet.keys),
      Math.min(agents.length, JWT_SVID_AGENTS),
    );
    for (const client of clients) client.close();
    rss.stop();
    await attestd.stop();
    attestd = undefined;

    const growth =
      (opts.growth ?? (database.target.kind === 'postgres' && !opts.quick))
        ? await growthRows(home, opts.quick)
        : undefined;

    const logins: PhasePair = { saturation, halfLoad };
    const report = {
      at: new Date().toISOString(),
      machine: {
        cores: availableParallelism(),
        node: process.version,
        loadAverage: { atStart: loadAtStart, atEnd: loadavg() },
      },
      database: database.target.kind,
      options: opts,
      logins: {
        probeRate: probe.result.rate,
        saturation,
        halfLoad,
        halfLoadRate: halfRate,
        clients: SATURATION_CLIENTS,
      },
      renewals,
      jwtSvids,
      ceiling,
      ceilingRatio: saturation.result.rate / ceiling.loginsPerSecond,
      fastify,
      rules,
      iidVerifiers: {
        oursPerSecond: iidVerifyPerSecond,
        pkijsPerSecond: pkijsVerifyPerSecond,
        ratio: iidVerifyPerSecond / pkijsVerifyPerSecond,
      },
      burst: {
        instances: BURST,
        outcomes: burst.outcomes,
        cloudCalls: burstCloudCalls,
        cloudCallsPerLogin: burstCloudCalls / BURST,
      },
      rssMiB: { idleWith100kAgents: rssIdle, peakSaturation: saturation.rssPeakMiB, peakHalfLoad: halfLoad.rssPeakMiB },
      seededAgents: SEEDED_AGENTS,
      loginWriteBySize: [{ agents: SEEDED_AGENTS, rate: loginWritePerSecond }, ...seededSizes],
      ...(growth && { growth }),
      ...(opts.profile && { profile: profileByPhase(join(resultsDir, 'profiles'), windows), profileWindows: windows }),
    };
    const roundTrip = { rate: fastify.rate, cores: availableParallelism() };
    const rows: Row[] = [
      ...phaseRows('aws_iid logins', logins, roundTrip, TARGETS.loginsPerRoundTrip, 2000),
      {
        metric: 'cloud calls in timed login phases (warm cache)',
        value: String(saturation.cloudCalls + halfLoad.cloudCalls),
        target: '0',
        pass: saturation.cloudCalls + halfLoad.cloudCalls === 0,
      },
      ...phaseRows('renewals', renewals, roundTrip, TARGETS.renewalsPerRoundTrip, 5000),
      ...phaseRows('JWT-SVIDs', jwtSvids, roundTrip, TARGETS.renewalsPerRoundTrip, 5000),
      ...ceilingRows(ceiling, saturation.result.rate),
      ...seededSizeRows(seededSizes, loginWritePerSecond, SEEDED_AGENTS),
      ...rulesRows(rules, report.iidVerifiers),
      { metric: `cloud calls per login, burst of ${BURST} new`, value: report.burst.cloudCallsPerLogin.toFixed(3) },
      { metric: 'burst logins succeeded', value: String(burst.outcomes.ok ?? 0) },
      { metric: `RSS, idle, ${SEEDED_AGENTS.toLocaleString('en-US')} agents stored`, value: fmt.mib(rssIdle) },
      {
        metric: 'RSS peak, login saturation / half load',
        value: `${fmt.mib(saturation.rssPeakMiB)} / ${fmt.mib(halfLoad.rssPeakMiB)}`,
      },
      ...(growth ? growthTableRows(growth) : []),
    ];
    const load = (l: number[]) => l.map((n) => n.toFixed(1)).join(' ');
    printTable(
      `attestd bench (${report.database}, ${opts.replicas} replica${opts.replicas > 1 ? 's' : ''}, ${report.machine.cores} cores, ${opts.seconds} s per phase${opts.quick ? ', quick' : ''}; load average ${load(loadAtStart)} at start, ${load(report.machine.loadAverage.atEnd)} at end)`,
      rows,
    );
    for (const phase of report.profile ?? []) {
      console.log(`\n${phase.phase}: ${phase.samples} busy samples; self time, then total time in apps/ and libs/`);
      console.log(`longest busy stretch ${phase.longestBusyMs.toFixed(0)} ms: ${phase.longestBusyTop.join('; ')}`);
      for (const f of [...phase.self, { fn: '', percent: NaN }, ...phase.total])
        console.log(Number.isNaN(f.percent) ? '' : `${f.percent.toFixed(1).padStart(5)}%  ${f.fn}`);
    }
    step(`results in ${writeResults(resultsDir, { ...report, table: rows })}`);
  } finally {
    await attestd?.stop();
    await fleet.sim.close();
    await database.drop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** The growth rows on two scratch databases of their own (PostgreSQL's when DATABASE_URL names one, else embedded). */
async function growthRows(home: string, quick: boolean): Promise<GrowthResult> {
  const serverUrl = process.env.DATABASE_URL ?? process.env.ATTESTD_DATABASE_URL;
  const empty = await scratchDatabase(serverUrl, join(home, 'growth-empty'));
  const grown = await scratchDatabase(serverUrl, join(home, 'growth-grown'));
  try {
    step(
      `growth: the login write and the audit list with ${GROWTH_ROWS.toLocaleString('en-US')} audit events and used nonces (${grown.target.kind}; several minutes)`,
    );
    return await measureGrowth(empty.target, grown.target, {
      rounds: quick ? 1 : 3,
      writes: quick ? 1000 : 2000,
      queriesPerFilter: quick ? 20 : 100,
      log: step,
    });
  } finally {
    await empty.drop();
    await grown.drop();
  }
}

async function growthOnly(home: string, resultsDir: string, quick: boolean): Promise<void> {
  try {
    const growth = await growthRows(home, quick);
    const rows = growthTableRows(growth);
    printTable(`attestd bench, growth rows only (${availableParallelism()} cores${quick ? ', quick' : ''})`, rows);
    step(
      `results in ${writeResults(resultsDir, { at: new Date().toISOString(), machine: { cores: availableParallelism(), node: process.version }, growth, table: rows })}`,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function bareFastify(seconds: number): Promise<LoadResult> {
  const hello = await startNodeProcess(builtScript('bench', 'fastify-hello.js'), {}, { readyPath: '/' });
  const client = new HttpClient(hello.url, 256);
  try {
    const op = async () =>
      (await client.call('POST', '/', { providedMethods: ['aws_iid'] })).status === 200 ? 'ok' : 'failed';
    await closedLoop({ concurrency: SATURATION_CLIENTS, seconds: Math.min(1, seconds), maxOperations: Infinity, op }); // warm-up
    return await closedLoop({ concurrency: SATURATION_CLIENTS, seconds, maxOperations: Infinity, op });
  } finally {
    client.close();
    await hello.stop();
  }
}

main()
  .then(() => latencyLog.close())
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
