import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { certificatesSection, fleetPolicy, loginOperation, startFleet, type Fleet } from './aws-fleet';
import { cpuMeter, type CpuShares } from './cpu-accounting';
import { combineCeiling, iidVerifyRate, pkijsVerifyRate, svidSignRate, type Ceiling } from './ceiling';
import { loginWriteRate, scratchDatabase, seedAgents, withDatabase } from './database';
import { GROWTH_ROWS, measureGrowth, type GrowthResult } from './growth';
import { HttpClient, closedLoop, openLoop, type LoadResult } from './http-load';
import { topSelfTime } from './profile-top';
import { fmt, printTable, writeResults, type Row } from './report';
import { compareRuleEngines } from './rules';
import { builtScript, rssMiBOf, startNodeProcess, type ServerProcess } from './server-process';

// `npm run bench`: attestd (built, its own process, log level warn) on
// PostgreSQL (DATABASE_URL) or embedded PGlite, the AWS simulator, and a
// keep-alive load generator; aws_iid logins at saturation and at half that
// rate, the machine's ceiling for the same work, compiled rules against
// json-rules-engine, cloud calls per login in a burst, and the server's RSS
// with 100,000 agents stored. See README.md, "Performance".

const TARGETS = { loginsPerSecond: 2000, halfLoadP99Ms: 50, ceilingRatio: 0.4, rulesRatio: 20, growthRatio: 0.8, auditListP99Ms: 50 };
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
}

function options(): Options {
  const { values } = parseArgs({
    options: { duration: { type: 'string' }, quick: { type: 'boolean', default: false }, profile: { type: 'boolean', default: false }, growth: { type: 'boolean' }, 'growth-only': { type: 'boolean', default: false } },
    strict: true,
    allowNegative: true,
  });
  const quick = values.quick ?? false;
  const seconds = values.duration === undefined ? (quick ? 1.5 : 5) : Number(values.duration);
  if (!(seconds > 0 && seconds <= 60)) throw new Error('--duration: seconds per timed phase, more than 0 and at most 60');
  return { seconds, quick, profile: values.profile ?? false, growth: values.growth, growthOnly: values['growth-only'] ?? false };
}

function step(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

async function main(): Promise<void> {
  const opts = options();
  const resultsDir = join(process.cwd(), 'bench-results');
  const home = mkdtempSync(join(tmpdir(), 'attestd-bench-'));
  if (opts.growthOnly) return growthOnly(home, resultsDir, opts.quick);
  const group = opts.quick ? 2500 : MAX_GROUP;
  const micro = opts.quick ? 0.5 : 2;

  step(`signing ${PROBE + 2 * group + BURST} instance identity documents`);
  const fleet = await startFleet({ probe: PROBE, saturation: group, halfLoad: group, burst: BURST });
  const database = await scratchDatabase(process.env.DATABASE_URL ?? process.env.ATTESTD_DATABASE_URL, home);
  let server: ServerProcess | undefined;
  try {
    step(`seeding ${SEEDED_AGENTS.toLocaleString('en-US')} agents and measuring the login write (${database.target.kind})`);
    const loginWritePerSecond = await withDatabase(database.target, async (db) => {
      await seedAgents(db, SEEDED_AGENTS);
      return loginWriteRate(db, { count: opts.quick ? 1000 : 4000, concurrency: 8 });
    });

    step('measuring the ceiling: IID verify (ours and pkijs), SVID signature, bare Fastify');
    const sample = fleet.groups.burst![0]!;
    const iidVerifyPerSecond = iidVerifyRate(sample.document, sample.signature, fleet.certificatePem, micro);
    const pkijsVerifyPerSecond = await pkijsVerifyRate(sample.signature, micro);
    const svidSignPerSecond = svidSignRate(micro);
    const fastify = await bareFastify(opts.seconds);
    const ceiling = combineCeiling({ iidVerifyPerSecond, svidSignPerSecond, loginWritePerSecond, fastifyRoundTripPerSecond: fastify.rate });

    step('comparing compiled rules with json-rules-engine');
    const rules = await compareRuleEngines(micro);

    step('starting attestd');
    const adminToken = randomBytes(24).toString('base64url');
    server = await startAttestd(home, fleet, database.url, adminToken, opts.profile ? join(resultsDir, 'profiles') : undefined);
    const serverPid = server.pid;
    const localPostgres = database.url !== undefined && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(database.url).hostname);
    const rssIdle = server.rssMiB();
    const rss = sampleRss(server.pid);
    const client = new HttpClient(server.url, 256);
    const push = async (document: string) => {
      const answer = await client.call('PUT', '/v1/config/AgentAttestation', document, { 'content-type': 'application/yaml', authorization: `Bearer ${adminToken}` });
      if (answer.status !== 200) throw new Error(`bench: config push ${answer.status}: ${answer.body}`);
    };

    step(`burst: ${BURST} new instances, cold caches`);
    await push(fleetPolicy());
    fleet.sim.log.reset();
    const burst = await closedLoop({ concurrency: 200, seconds: 120, maxOperations: BURST, op: loginOperation(client, fleet.groups.burst!, fleet.csrs) });
    const burstCloudCalls = fleet.sim.log.count();

    // Each timed group is warmed whole first (denied logins: verified, looked
    // up, refused by the rules, nothing stored); warming costs about what the
    // timed logins cost, so a group is sized to what its phase will use.
    const timed = async (name: string, size: number, run: (op: ReturnType<typeof loginOperation>, count: number) => Promise<LoadResult>, round: number) => {
      const proofs = fleet.groups[name]!.slice(0, size);
      step(`${name}: warming the cloud cache with ${proofs.length} denied logins`);
      await push(fleetPolicy(round));
      const warm = await closedLoop({ concurrency: WARM_UP_CLIENTS, seconds: 600, maxOperations: proofs.length, op: loginOperation(client, proofs, fleet.csrs, 403) });
      if (warm.succeeded !== proofs.length) throw new Error(`bench: warm-up outcomes ${JSON.stringify(warm.outcomes)}`);
      await push(fleetPolicy());
      fleet.sim.log.reset();
      rss.reset();
      step(`${name}: timed logins`);
      const cpu = cpuMeter(serverPid, localPostgres);
      const result = await run(loginOperation(client, proofs, fleet.csrs), proofs.length);
      return { result, cpuPerLogin: cpu.perOperation(result.operations), cloudCalls: fleet.sim.log.count(), rssPeakMiB: rss.peak(), warmUpRate: warm.rate };
    };
    const probe = await timed('probe', PROBE, (op, count) => closedLoop({ concurrency: SATURATION_CLIENTS, seconds: 60, maxOperations: count, op }), 1);
    const saturationSize = Math.min(group, Math.ceil(probe.result.rate * opts.seconds * 1.5) + 200);
    const saturation = await timed('saturation', saturationSize, (op, count) => closedLoop({ concurrency: SATURATION_CLIENTS, seconds: opts.seconds, maxOperations: count, op }), 2);
    const halfRate = saturation.result.rate / 2;
    const halfLoad = await timed('halfLoad', Math.min(group, Math.ceil(halfRate * opts.seconds) + 1), (op, count) => openLoop({ rate: halfRate, seconds: opts.seconds, maxOperations: count, op }), 3);
    client.close();
    rss.stop();
    await server.stop();
    server = undefined;

    const growth = (opts.growth ?? (database.target.kind === 'postgres' && !opts.quick)) ? await growthRows(home, opts.quick) : undefined;

    const report = {
      at: new Date().toISOString(),
      machine: { cores: availableParallelism(), node: process.version },
      database: database.target.kind,
      options: opts,
      logins: { probeRate: probe.result.rate, saturation, halfLoad, halfLoadRate: halfRate, clients: SATURATION_CLIENTS },
      ceiling,
      ceilingRatio: saturation.result.rate / ceiling.loginsPerSecond,
      fastify,
      rules,
      iidVerifiers: { oursPerSecond: iidVerifyPerSecond, pkijsPerSecond: pkijsVerifyPerSecond, ratio: iidVerifyPerSecond / pkijsVerifyPerSecond },
      burst: { instances: BURST, outcomes: burst.outcomes, cloudCalls: burstCloudCalls, cloudCallsPerLogin: burstCloudCalls / BURST },
      rssMiB: { idleWith100kAgents: rssIdle, peakSaturation: saturation.rssPeakMiB, peakHalfLoad: halfLoad.rssPeakMiB },
      seededAgents: SEEDED_AGENTS,
      ...(growth && { growth }),
      ...(opts.profile && { profileTop: topSelfTime(join(resultsDir, 'profiles')) }),
    };
    const rows = [...tableRows(report.logins.saturation.result, report.logins.halfLoad.result, ceiling, report.ceilingRatio, rules, report), ...(growth ? growthTableRows(growth) : [])];
    printTable(`attestd bench (${report.database}, ${report.machine.cores} cores, ${opts.seconds} s per phase${opts.quick ? ', quick' : ''})`, rows);
    if (report.profileTop) for (const f of report.profileTop) console.log(`${f.percent.toFixed(1).padStart(5)}%  ${f.fn}`);
    step(`results in ${writeResults(resultsDir, { ...report, table: rows })}`);
  } finally {
    await server?.stop();
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
    step(`growth: the login write and the audit list with ${GROWTH_ROWS.toLocaleString('en-US')} audit events and used nonces (${grown.target.kind}; several minutes)`);
    return await measureGrowth(empty.target, grown.target, { rounds: quick ? 1 : 3, writes: quick ? 1000 : 2000, queriesPerFilter: quick ? 20 : 100, log: step });
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
    step(`results in ${writeResults(resultsDir, { at: new Date().toISOString(), machine: { cores: availableParallelism(), node: process.version }, growth, table: rows })}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

function growthTableRows(growth: GrowthResult): Row[] {
  const millions = `${(GROWTH_ROWS / 1e6).toFixed(0)}M`;
  return [
    { metric: `login write, ${millions} audit + ${millions} nonces / empty`, value: `${fmt.rate(growth.grownRate)} / ${fmt.rate(growth.emptyRate)} (${fmt.ratio(growth.ratio)})`, target: `>= ${TARGETS.growthRatio}`, pass: growth.ratio >= TARGETS.growthRatio },
    { metric: `audit list, ${millions} events, 7 filters: p50 / p99`, value: `${fmt.ms(growth.list.p50Ms)} / ${fmt.ms(growth.list.p99Ms)}`, target: `p99 < ${TARGETS.auditListP99Ms} ms`, pass: growth.list.p99Ms < TARGETS.auditListP99Ms },
    { metric: 'audit list: slowest filter, p99', value: `${growth.list.slowest.filter}: ${fmt.ms(growth.list.slowest.p99Ms)}` },
    { metric: 'growth: seeding both databases', value: `${growth.seedSeconds.toFixed(0)} s` },
  ];
}

async function bareFastify(seconds: number): Promise<LoadResult> {
  const hello = await startNodeProcess(builtScript('bench', 'fastify-hello.js'), {}, { readyPath: '/' });
  const client = new HttpClient(hello.url, 256);
  try {
    const op = async () => ((await client.call('POST', '/', { providedMethods: ['aws_iid'] })).status === 200 ? 'ok' : 'failed');
    await closedLoop({ concurrency: SATURATION_CLIENTS, seconds: Math.min(1, seconds), maxOperations: Infinity, op }); // warm-up
    return await closedLoop({ concurrency: SATURATION_CLIENTS, seconds, maxOperations: Infinity, op });
  } finally {
    client.close();
    await hello.stop();
  }
}

async function startAttestd(home: string, fleet: Fleet, databaseUrl: string | undefined, adminToken: string, profileDir: string | undefined): Promise<ServerProcess> {
  const policies = join(home, 'policies');
  mkdirSync(policies, { recursive: true });
  writeFileSync(join(policies, 'agents.yaml'), fleetPolicy());
  writeFileSync(join(policies, 'iid-certificates.yaml'), certificatesSection(fleet.certificatePem));
  const env: Record<string, string> = {
    ...fleet.sim.endpointEnv(),
    ATTESTD_DATA_DIR: home,
    ATTESTD_POLICIES_DIR: policies,
    ATTESTD_ADMIN_TOKENS: adminToken,
    ATTESTD_LOG_LEVEL: 'warn',
    // one load generator is one source address: lift the per-source limits (its warm-up holds 200 connections)
    ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '1000000',
    ATTESTD_RATE_LIMIT_AGENT_BURST: '1000000',
    ATTESTD_HTTP_MAX_CONNECTIONS_PER_SOURCE: '100000',
    DATABASE_URL: databaseUrl ?? '',
    ATTESTD_DATABASE_URL: databaseUrl ?? '',
    // required on PostgreSQL; the embedded database makes its own in the data directory
    ...(databaseUrl && { ATTESTD_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') }),
  };
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const nodeArgs = ['-r', builtScript('bench', 'exit-on-signal.js'), ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])];
  return startNodeProcess(builtScript('apps', 'server', 'main.js'), env, { readyPath: '/readyz', nodeArgs });
}

function sampleRss(pid: number) {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiBOf(pid));
  }, 100);
  return {
    reset: () => {
      peak = rssMiBOf(pid);
    },
    peak: () => Math.max(peak, rssMiBOf(pid)),
    stop: () => clearInterval(timer),
  };
}

function tableRows(
  saturation: LoadResult,
  half: LoadResult,
  ceiling: Ceiling,
  ratio: number,
  rules: { compiledPerSecond: number; jsonRulesEnginePerSecond: number; ratio: number },
  report: { logins: { saturation: { cloudCalls: number; cpuPerLogin: CpuShares }; halfLoad: { cloudCalls: number } }; iidVerifiers: { oursPerSecond: number; pkijsPerSecond: number; ratio: number }; burst: { cloudCallsPerLogin: number; outcomes: Record<string, number> }; rssMiB: Record<string, number>; fastify: LoadResult },
): Row[] {
  const failures = (r: LoadResult) => r.operations - r.succeeded;
  return [
    { metric: 'aws_iid logins/s, saturation (SVID issued)', value: fmt.rate(saturation.rate), target: `>= ${TARGETS.loginsPerSecond}/s`, pass: saturation.rate >= TARGETS.loginsPerSecond },
    { metric: 'saturation latency mean / p50 / p99', value: `${fmt.ms(saturation.latencyMs.mean)} / ${fmt.ms(saturation.latencyMs.p50)} / ${fmt.ms(saturation.latencyMs.p99)}` },
    { metric: 'CPU per login at saturation: server / load gen / PostgreSQL', value: cpuShares(report.logins.saturation.cpuPerLogin) },
    { metric: 'half load, fixed rate (logins/s)', value: fmt.rate(half.rate) },
    { metric: 'half load latency mean / p50', value: `${fmt.ms(half.latencyMs.mean)} / ${fmt.ms(half.latencyMs.p50)}` },
    { metric: 'half load latency p99', value: fmt.ms(half.latencyMs.p99), target: `< ${TARGETS.halfLoadP99Ms} ms`, pass: half.latencyMs.p99 < TARGETS.halfLoadP99Ms },
    { metric: 'failed logins in timed phases', value: String(failures(saturation) + failures(half)), target: '0', pass: failures(saturation) + failures(half) === 0 },
    { metric: 'cloud calls in timed phases (warm cache)', value: String(report.logins.saturation.cloudCalls + report.logins.halfLoad.cloudCalls), target: '0', pass: report.logins.saturation.cloudCalls + report.logins.halfLoad.cloudCalls === 0 },
    { metric: 'ceiling: PKCS#7 parse + RSA verify', value: fmt.rate(ceiling.iidVerifyPerSecond) },
    { metric: 'ceiling: ECDSA P-256 SVID issuance', value: fmt.rate(ceiling.svidSignPerSecond) },
    { metric: 'ceiling: login write transaction', value: fmt.rate(ceiling.loginWritePerSecond) },
    { metric: 'ceiling: bare Fastify round trip', value: fmt.rate(ceiling.fastifyRoundTripPerSecond) },
    { metric: 'ceiling: logins/s (2 trips+verify+sign+write)', value: fmt.rate(ceiling.loginsPerSecond) },
    { metric: 'achieved / ceiling', value: fmt.ratio(ratio), target: `>= ${TARGETS.ceilingRatio}`, pass: ratio >= TARGETS.ceilingRatio },
    { metric: 'rules: compiled evaluations/s', value: fmt.rate(rules.compiledPerSecond) },
    { metric: 'rules: json-rules-engine evaluations/s', value: fmt.rate(rules.jsonRulesEnginePerSecond) },
    { metric: 'rules: compiled / json-rules-engine', value: `${rules.ratio.toFixed(0)}x`, target: `>= ${TARGETS.rulesRatio}x`, pass: rules.ratio >= TARGETS.rulesRatio },
    { metric: 'IID verify: ours / pkijs SignedData.verify', value: `${fmt.rate(report.iidVerifiers.oursPerSecond)} / ${fmt.rate(report.iidVerifiers.pkijsPerSecond)} (${report.iidVerifiers.ratio.toFixed(0)}x)` },
    { metric: `cloud calls per login, burst of ${BURST} new`, value: report.burst.cloudCallsPerLogin.toFixed(3) },
    { metric: 'burst logins succeeded', value: String(report.burst.outcomes.ok ?? 0) },
    { metric: `RSS, idle, ${SEEDED_AGENTS.toLocaleString('en-US')} agents stored`, value: fmt.mib(report.rssMiB.idleWith100kAgents!) },
    { metric: 'RSS peak, saturation / half load', value: `${fmt.mib(report.rssMiB.peakSaturation!)} / ${fmt.mib(report.rssMiB.peakHalfLoad!)}` },
  ];
}

function cpuShares(cpu: CpuShares): string {
  const us = (n: number | undefined) => (n === undefined ? 'n/a' : `${Math.round(n)} µs`);
  return `${us(cpu.serverUs)} / ${us(cpu.loadGeneratorUs)} / ${us(cpu.postgresUs)}`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
