import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify } from 'jose';
import type { JwtSvidRequest, JwtSvidResponse, RenewRequest, RenewResponse } from '@libs/contracts/agent-api';
import { CertificateAuthority, generateCaKey, parseCsr } from '@libs/pki';
import { AgentApiError, ServerUnreachableError, type SvidApi } from './client';
import { DaemonStopped, runDaemon, type DaemonClock, type DaemonLog } from './daemon';
import { writeSvidFiles } from './files';
import { generateAgentKey } from './keys';
import type { LoginSummary } from './login';
import { serializeAgentState } from './state';
import { until } from '@libs/testing/until';

const SPIFFE_ID = 'spiffe://example.org/agent/join_token/node-1';
const TTL_SECONDS = 600;

/**
 * attestd's renewal in memory: a real CA, one current serial per agent (a
 * superseded certificate is refused as attestd refuses it), and a script
 * of failures to answer with before the next success.
 */
class FakeRenewals implements SvidApi {
  readonly ca: CertificateAuthority;
  readonly bundle: string;
  current = '';
  renewed = 0;
  failures: Error[] = [];
  /** attestd unreachable while this holds */
  down: () => boolean = () => false;
  onRenewed: () => void = () => undefined;

  constructor(private readonly now: () => number) {
    const made = generateCaKey('example.org', new Date(now()), 24 * 3600);
    this.ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
    this.bundle = made.certificatePem;
  }

  async issue(csrPem: string): Promise<{ certChain: string; expiresAt: string }> {
    const issued = this.ca.issueX509Svid({
      spiffeId: SPIFFE_ID,
      subjectPublicKey: (await parseCsr(csrPem)).publicKey,
      ttlSeconds: TTL_SECONDS,
      now: new Date(this.now()),
    });
    this.current = issued.serialHex;
    return { certChain: issued.chainPem, expiresAt: issued.notAfter.toISOString() };
  }

  async renew(request: RenewRequest): Promise<RenewResponse> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    if (this.down()) throw unreachable();
    if (new X509Certificate(request.certChain).serialNumber.toLowerCase() !== this.current) {
      throw new AgentApiError(
        'renew',
        401,
        'invalid_proof_of_possession',
        "svid: the certificate is not the agent's current SVID",
      );
    }
    await compactVerify(request.pop, new X509Certificate(request.certChain).publicKey);
    const svid = await this.issue(request.csr);
    this.renewed += 1;
    this.onRenewed();
    return { spiffeId: SPIFFE_ID, svid, bundle: this.bundle };
  }

  jwtSvid(_request: JwtSvidRequest): Promise<JwtSvidResponse> {
    return Promise.reject(new Error('the daemon does not mint JWT-SVIDs'));
  }
}

/** Virtual time: each sleep moves the clock on by its length, and is recorded. */
function virtualClock(start: number): DaemonClock & { waits: number[] } {
  let now = start;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: (ms) => {
      waits.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

function recordingLog(): DaemonLog & { lines: { level: string; msg: string; fields: object }[] } {
  const lines: { level: string; msg: string; fields: object }[] = [];
  const at = (level: string) => (fields: object, msg: string) => void lines.push({ level, msg, fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const unreachable = () => new ServerUnreachableError('renew', 'http://127.0.0.1:1', 'connect ECONNREFUSED');

describe('the renewing agent', () => {
  let out: string;
  let clock: ReturnType<typeof virtualClock>;
  let fake: FakeRenewals;
  let log: ReturnType<typeof recordingLog>;
  let stop: AbortController;

  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'attestd-daemon-'));
    // certificates hold whole seconds
    clock = virtualClock(Math.floor(Date.now() / 1000) * 1000);
    fake = new FakeRenewals(clock.now);
    log = recordingLog();
    stop = new AbortController();
    const key = await generateAgentKey();
    const svid = await fake.issue(key.csrPem);
    await writeSvidFiles(out, { certChain: svid.certChain, privateKeyPem: key.privateKeyPem, bundle: fake.bundle });
  });
  afterEach(() => rm(out, { recursive: true, force: true }));

  const run = () => runDaemon({ out, signal: stop.signal }, { client: fake, log, clock, random: () => 0 });
  const stopAfter = (renewals: number) => {
    fake.onRenewed = () => {
      if (fake.renewed >= renewals) stop.abort();
    };
  };

  it('renews at half-life with a fresh key each time, rewriting the files, until stopped', async () => {
    const keys: string[] = [];
    const serials: string[] = [];
    const first = await readFile(join(out, 'svid.key'), 'utf8');
    stopAfter(3);
    const write = writeSvidFiles;
    await runDaemon(
      { out, signal: stop.signal },
      {
        client: fake,
        log,
        clock,
        writeFiles: async (dir, material) => {
          const written = await write(dir, material);
          keys.push(await readFile(written.key, 'utf8'));
          serials.push(new X509Certificate(await readFile(written.svid, 'utf8')).serialNumber.toLowerCase());
          return written;
        },
      },
    );
    // 600 s backdated 60 s: half of 660 s is 330 s after notBefore, 270 s after each issue
    expect(clock.waits).toEqual([270_000, 270_000, 270_000]);
    expect(new Set([first, ...keys]).size).toBe(4);
    expect(serials).toHaveLength(3);
    expect(serials[2]).toBe(fake.current);
    expect((await stat(join(out, 'svid.key'))).mode & 0o777).toBe(0o600);
    expect(log.lines.filter((line) => line.msg === 'SVID renewed')).toHaveLength(3);
    expect(log.lines.at(-1)).toMatchObject({ msg: 'Renewing agent stopped' });
  });

  it('retries an unreachable server and 503s with doubling backoff, then renews and starts over', async () => {
    fake.failures = [
      unreachable(),
      unreachable(),
      new AgentApiError('renew', 503, 'unavailable', 'database unreachable'),
    ];
    stopAfter(2);
    await runDaemon({ out, signal: stop.signal }, { client: fake, log, clock, random: () => 0.999_999 });
    // half-life; 1 s, 2 s, 4 s (the top of each jittered step); the renewal; the new SVID's half-life
    expect(clock.waits).toEqual([270_000, 1_000, 2_000, 4_000, 270_000]);
    expect(fake.renewed).toBe(2);
    expect(log.lines.filter((line) => line.msg === 'SVID renewal failed; retrying').map((line) => line.fields)).toEqual(
      [
        expect.objectContaining({ failures: 1, error: expect.stringContaining('ECONNREFUSED') }),
        expect.objectContaining({ failures: 2 }),
        expect.objectContaining({ failures: 3, error: expect.stringContaining('503 unavailable') }),
      ],
    );
  });

  it('waits as long as a 429 asks with Retry-After', async () => {
    fake.failures = [new AgentApiError('renew', 429, 'rate_limited', 'slow down', { retryAfterSeconds: 7 })];
    stopAfter(1);
    await run();
    expect(clock.waits).toEqual([270_000, 7_000]);
  });

  it.each([
    [
      'evicted',
      new AgentApiError('renew', 403, 'agent_evicted', 'this agent was evicted; the node must log in again'),
      /403 agent_evicted/,
    ],
    ['banned', new AgentApiError('renew', 403, 'agent_banned', 'this agent is banned'), /403 agent_banned/],
    [
      'proof refused',
      new AgentApiError('renew', 401, 'invalid_proof_of_possession', 'svid: not current'),
      /401 invalid_proof_of_possession/,
    ],
  ])('stops for good when attestd refuses the agent (%s), without retrying', async (_name, refusal, message) => {
    fake.failures = [refusal];
    const stopped = run();
    await expect(stopped).rejects.toThrow(DaemonStopped);
    await expect(stopped).rejects.toThrow(message);
    await expect(stopped).rejects.toThrow(/^daemon: stopped renewing: renew failed: /);
    expect(clock.waits).toEqual([270_000]);
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', msg: 'SVID renewal refused; stopping' });
  });

  it('stops when the SVID expires while attestd stays unreachable, naming the last error', async () => {
    fake.failures = Array.from({ length: 1000 }, unreachable);
    await expect(run()).rejects.toThrow(
      /^daemon: the SVID expired at .* before it could be renewed \(last error: .*ECONNREFUSED.*\); log in again$/,
    );
    const total = clock.waits.reduce((sum, ms) => sum + ms, 0);
    expect(clock.waits.every((ms) => ms <= 60_000 || ms === 270_000)).toBe(true);
    // it waited until expiry, not past it: issued now, 600 s
    expect(total).toBeLessThanOrEqual(TTL_SECONDS * 1000);
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', msg: 'SVID expired before it could be renewed' });
  });

  it('keeps a renewed SVID it could not write and writes it on the next attempt, without renewing again', async () => {
    let failWrites = 1;
    stopAfter(2);
    await runDaemon(
      { out, signal: stop.signal },
      {
        client: fake,
        log,
        clock,
        random: () => 0,
        writeFiles: (dir, material) =>
          failWrites-- > 0
            ? Promise.reject(new Error('cannot create svid.pem: ENOSPC'))
            : writeSvidFiles(dir, material),
      },
    );
    expect(log.lines.map((line) => line.msg)).toContain('Writing the renewed SVID failed; retrying');
    expect(fake.renewed).toBe(2);
    expect(new X509Certificate(await readFile(join(out, 'svid.pem'), 'utf8')).serialNumber.toLowerCase()).toBe(
      fake.current,
    );
  });

  it('stops at once when the signal is already aborted, renewing nothing', async () => {
    stop.abort();
    await run();
    expect(fake.renewed).toBe(0);
  });

  it('never logs key material', async () => {
    stopAfter(2);
    fake.failures = [unreachable()];
    await run();
    const text = JSON.stringify(log.lines);
    expect(text).not.toMatch(/PRIVATE KEY|CERTIFICATE REQUEST/);
    const key = (await readFile(join(out, 'svid.key'), 'utf8')).split('\n')[1]!;
    expect(text).not.toContain(key.slice(0, 40));
  });

  it('refuses to start on files that do not belong together', async () => {
    const other = await generateAgentKey();
    const svid = await fake.issue(other.csrPem);
    await writeSvidFiles(out, {
      certChain: svid.certChain,
      privateKeyPem: (await generateAgentKey()).privateKeyPem,
      bundle: fake.bundle,
    });
    await expect(run()).rejects.toThrow(/svid\.pem does not certify the key in .*svid\.key; log in again/);
  });
});

describe('the renewing agent when its SVID can no longer renew', () => {
  const AGENT = { agentId: '00000000-0000-4000-8000-00000000000a', spiffeId: SPIFFE_ID };
  let out: string;
  let clock: ReturnType<typeof virtualClock>;
  let fake: FakeRenewals;
  let log: ReturnType<typeof recordingLog>;
  let stop: AbortController;
  /** scripted failures of the logins, then successes that stop the daemon */
  let loginFailures: Error[];
  let logins: number;
  let loggedInAt: number[];

  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'attestd-relogin-'));
    clock = virtualClock(Math.floor(Date.now() / 1000) * 1000);
    fake = new FakeRenewals(clock.now);
    log = recordingLog();
    stop = new AbortController();
    loginFailures = [];
    logins = 0;
    loggedInAt = [];
    const key = await generateAgentKey();
    const svid = await fake.issue(key.csrPem);
    await writeSvidFiles(out, { certChain: svid.certChain, privateKeyPem: key.privateKeyPem, bundle: fake.bundle });
  });
  afterEach(() => rm(out, { recursive: true, force: true }));

  /** A login as runLogin makes it: a new SVID and agent, written to `out`. */
  async function login(): Promise<LoginSummary> {
    const failure = loginFailures.shift();
    if (failure) throw failure;
    logins += 1;
    loggedInAt.push(clock.now());
    const key = await generateAgentKey();
    const svid = await fake.issue(key.csrPem);
    const agentId = `00000000-0000-4000-8000-00000000010${logins}`;
    const files = await writeSvidFiles(out, {
      certChain: svid.certChain,
      privateKeyPem: key.privateKeyPem,
      bundle: fake.bundle,
      state: serializeAgentState({ agentId, spiffeId: SPIFFE_ID, reattestable: true }),
    });
    return { agentId, spiffeId: SPIFFE_ID, policy: 'p', expiresAt: svid.expiresAt, reattestable: true, files };
  }
  const run = (reattestable: boolean | undefined) =>
    runDaemon(
      { out, signal: stop.signal, ...(reattestable !== undefined && { agent: { ...AGENT, reattestable } }) },
      { client: fake, log, clock, random: () => 0, login },
    );
  /** attestd unreachable until the agent logs in again: the SVID expires first */
  const expireFirst = () => {
    fake.down = () => logins === 0;
  };
  const stopAfterRenewals = (renewals: number) => {
    fake.onRenewed = () => {
      if (fake.renewed >= renewals) stop.abort();
    };
  };

  it('logs in again by itself when the SVID expired and the agent may re-attest, retrying through the outage, then renews the new SVID', async () => {
    const expiry = new X509Certificate(await readFile(join(out, 'svid.pem'), 'utf8')).validToDate.getTime();
    expireFirst();
    loginFailures = [
      new ServerUnreachableError('login', 'http://127.0.0.1:1', 'connect ECONNREFUSED'),
      new AgentApiError('login', 503, 'unavailable', 'database unreachable'),
    ];
    stopAfterRenewals(1);
    await run(true);
    expect(logins).toBe(1);
    expect(fake.renewed).toBe(1);
    const messages = log.lines.map((line) => line.msg);
    expect(messages.slice(messages.indexOf('SVID expired before it could be renewed'))).toEqual([
      'SVID expired before it could be renewed',
      'Logging in again',
      'Logging in again failed; retrying',
      'Logging in again failed; retrying',
      'Logged in again',
      'SVID renewed',
      'Renewing agent stopped',
    ]);
    expect(log.lines.find((line) => line.msg === 'Logged in again')!.fields).toMatchObject({
      agentId: '00000000-0000-4000-8000-000000000101',
      reattestable: true,
    });
    expect(JSON.parse(await readFile(join(out, 'agent.json'), 'utf8'))).toMatchObject({
      agentId: '00000000-0000-4000-8000-000000000101',
    });
    expect(clock.now()).toBeGreaterThan(expiry);
  });

  it('stops with the one line naming the attestctl agents evict command when a TOFU record stands in the way', async () => {
    expireFirst();
    loginFailures = [
      new AgentApiError(
        'login',
        409,
        'node_already_attested',
        `this node already attested as agent ${AGENT.agentId}; an operator must evict it first`,
      ),
    ];
    const stopped = run(false);
    await expect(stopped).rejects.toThrow(DaemonStopped);
    await expect(stopped).rejects.toThrow(
      new RegExp(
        `^daemon: the SVID expired at \\S+ before it could be renewed \\(last error: .*\\), and this node attested with TOFU, so it cannot log in again by itself: an operator must run 'attestctl agents evict ${AGENT.agentId}' \\(attestd: 409 node_already_attested\\); the agent then logs in at its next start$`,
      ),
    );
    expect(loginFailures).toEqual([]);
  });

  it('tries the login once when the agent may not re-attest, which lets a node an operator evicted back in', async () => {
    expireFirst();
    const stopped = run(false);
    await until(() => logins === 1);
    stop.abort();
    await stopped;
    expect(log.lines.map((line) => line.msg)).toContain('Logged in again');
  });

  it('does not retry a failed login when the agent may not re-attest (TOFU, a join token, or no agent.json)', async () => {
    expireFirst();
    loginFailures = [new ServerUnreachableError('login', 'http://127.0.0.1:1', 'connect ECONNREFUSED')];
    await expect(run(undefined)).rejects.toThrow(
      /^daemon: the SVID expired at .*; logging in again failed: login failed: cannot reach attestd at http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED$/,
    );
    expect(logins).toBe(0);
  });

  it('logs in again when attestd says the agent was evicted, and goes on renewing', async () => {
    fake.failures = [
      new AgentApiError('renew', 403, 'agent_evicted', 'this agent was evicted; the node must log in again'),
    ];
    stopAfterRenewals(1);
    await run(false);
    expect(logins).toBe(1);
    expect(log.lines.find((line) => line.msg === 'Logging in again')!.fields).toMatchObject({
      reason: `attestd evicted agent ${AGENT.agentId}`,
    });
  });

  it('still stops for good when the agent is banned', async () => {
    fake.failures = [new AgentApiError('renew', 403, 'agent_banned', 'this agent is banned')];
    await expect(run(true)).rejects.toThrow(/^daemon: stopped renewing: renew failed: 403 agent_banned/);
    expect(logins).toBe(0);
  });

  it('treats a wake-up past the expiry as expiry, not as a renewal with an expired SVID (a suspended machine)', async () => {
    // the first wait (to half-life) ends an hour late
    let suspend = 3_600_000;
    const suspended: DaemonClock = {
      now: clock.now,
      sleep: async (ms, signal) => clock.sleep(ms + suspend, signal).finally(() => (suspend = 0)),
    };
    stopAfterRenewals(1);
    await runDaemon(
      { out, signal: stop.signal, agent: { ...AGENT, reattestable: true } },
      { client: fake, log, clock: suspended, random: () => 0, login },
    );
    expect(logins).toBe(1);
    expect(log.lines.map((line) => line.msg)).toContain('SVID expired before it could be renewed');
    expect(log.lines.filter((line) => line.msg === 'SVID renewal failed; retrying')).toEqual([]);
  });

  it('plans again when it wakes before the expiry it waited for', async () => {
    expireFirst();
    // sleeps cut short at 10 s, as a test harness or a signal-happy runtime might
    const early: DaemonClock = {
      now: clock.now,
      sleep: async (ms, signal) => clock.sleep(Math.min(ms, 10_000), signal),
    };
    const stopped = runDaemon(
      { out, signal: stop.signal, agent: { ...AGENT, reattestable: true } },
      { client: fake, log, clock: early, random: () => 0, login },
    );
    const expiry = new X509Certificate(await readFile(join(out, 'svid.pem'), 'utf8')).validToDate.getTime();
    await until(() => logins === 1);
    stop.abort();
    await stopped;
    expect(log.lines.filter((line) => line.msg === 'SVID expired before it could be renewed')).toHaveLength(1);
    expect(loggedInAt[0]).toBeGreaterThanOrEqual(expiry);
  });
});
