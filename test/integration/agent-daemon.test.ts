import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { DaemonClock } from '../../apps/agent/daemon';
import { main, type RunControl } from '../../apps/agent/main';
import { newJoinToken } from '../support/agent';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { startTestServer, type TestServer } from '../support/server';

const INSTANCE = 'i-0b22a22eec53b9321';
const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
      svidTtl: 5m
    - name: ec2
      requiredAttestors: [{ type: aws_iid }]
      svidTtl: 5m
`;

interface Wait {
  ms: number;
  release(): void;
}

/**
 * The daemon's clock, stepped by the test: real time (attestd checks the
 * proof's `iat` and the SVID's expiry against its own clock), but every
 * sleep waits until the test releases it, so no test waits out a half-life.
 * `next()` resolves when the daemon sleeps, that is once it has finished
 * what it was doing.
 */
function steppedClock(): DaemonClock & { next(): Promise<Wait> } {
  const waits: Wait[] = [];
  const takers: ((wait: Wait) => void)[] = [];
  return {
    now: () => Date.now(),
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => resolve(), { once: true });
        const wait = { ms, release: resolve };
        const taker = takers.shift();
        if (taker) taker(wait);
        else waits.push(wait);
      }),
    next: () => {
      const wait = waits.shift();
      return wait ? Promise.resolve(wait) : new Promise<Wait>((resolve) => takers.push(resolve));
    },
  };
}

/** The agent's main, in-process, with what it prints captured. */
function startAgent(argv: string[], control: RunControl = {}) {
  const output = { stdout: '', stderr: '' };
  const status = main(argv, {}, { stdout: (text) => void (output.stdout += text), stderr: (text) => void (output.stderr += text) }, control);
  return { status, output, logLines: () => output.stderr.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

async function readSvid(dir: string) {
  const [svid, key, bundle] = await Promise.all(['svid.pem', 'svid.key', 'bundle.pem'].map((name) => readFile(join(dir, name), 'utf8')));
  const leaf = new X509Certificate(svid!);
  return { leaf, key: key!, bundle: new X509Certificate(bundle!), serial: leaf.serialNumber.toLowerCase(), spiffeId: leaf.subjectAltName!.replace(/^URI:/, '') };
}

describe('attestd-agent login --daemon and jwt against a real attestd', () => {
  let aws: AwsTestbed;
  let server: TestServer;
  let port: string;
  const dirs: string[] = [];
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-daemon-'));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    aws = await startAwsTestbed();
    server = await startTestServer({ policies: { 'agents.yaml': POLICIES, 'certificates.yaml': aws.certificatesSection } });
    port = new URL(server.url).port;
  });
  afterAll(async () => {
    await server.stop();
    await aws.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  const joinTokenLogin = async (dir: string) => ['login', '--server', server.url, '--attestor', 'join_token', '--token', (await newJoinToken(server)).token, '--out', dir];

  it('renews at half-life with a new key, keeps the SPIFFE ID, rides out a server restart, and stops on SIGTERM', async () => {
    const dir = newDir();
    const clock = steppedClock();
    const stop = new AbortController();
    const agent = startAgent([...(await joinTokenLogin(dir)), '--daemon'], { signal: stop.signal, daemon: { clock, random: () => 0 } });

    const first = await clock.next();
    const original = await readSvid(dir);
    expect(agent.output.stdout).toContain(`logged in as ${original.spiffeId}`);
    // 5 min backdated 1 min: half-life is 3 min after notBefore, so at most 2 min after the login
    expect(first.ms).toBeGreaterThan(0);
    expect(first.ms).toBeLessThanOrEqual(120_000);

    first.release();
    const second = await clock.next();
    const renewed = await readSvid(dir);
    expect(renewed.spiffeId).toBe(original.spiffeId);
    expect(renewed.serial).not.toBe(original.serial);
    expect(renewed.key).not.toBe(original.key);
    expect(renewed.leaf.verify(renewed.bundle.publicKey)).toBe(true);
    expect(renewed.leaf.checkPrivateKey(createPrivateKey(renewed.key))).toBe(true);
    const agentId = /\(agent ([0-9a-f-]+)\)/.exec(agent.output.stdout)![1]!;
    const row = (await (await server.admin('GET', `/v1/agents/${agentId}`)).json()) as { svidSerial: string };
    expect(row.svidSerial).toBe(renewed.serial);
    expect(agent.logLines()).toContainEqual(expect.objectContaining({ level: 30, msg: 'SVID renewed', spiffeId: original.spiffeId, serial: renewed.serial }));

    // attestd goes away: the daemon retries with backoff (0.5 s, then 1 s with no jitter)
    await server.server.close();
    second.release();
    const retry = await clock.next();
    expect(retry.ms).toBe(500);
    retry.release();
    const secondRetry = await clock.next();
    expect(secondRetry.ms).toBe(1_000);
    expect(agent.logLines()).toContainEqual(expect.objectContaining({ msg: 'SVID renewal failed; retrying', failures: 2, error: expect.stringContaining('cannot reach attestd') }));

    // ... and back on the same address and database: the next attempt renews
    server = await server.restart({ ATTESTD_LISTEN: `127.0.0.1:${port}` });
    secondRetry.release();
    const afterRestart = await clock.next();
    const again = await readSvid(dir);
    expect(again.spiffeId).toBe(original.spiffeId);
    expect(again.serial).not.toBe(renewed.serial);
    expect(again.leaf.verify(again.bundle.publicKey)).toBe(true);
    expect(afterRestart.ms).toBeGreaterThan(60_000);

    stop.abort();
    expect(await agent.status).toBe(0);
    expect(agent.logLines().at(-1)).toMatchObject({ msg: 'Renewing agent stopped', serial: again.serial });
    expect(agent.output.stderr).not.toMatch(/PRIVATE KEY/);
  });

  it('stops with a clear error and exit status 1 when the agent is evicted', async () => {
    const dir = newDir();
    const clock = steppedClock();
    const agent = startAgent([...(await joinTokenLogin(dir)), '--daemon'], { daemon: { clock } });
    const first = await clock.next();
    const agentId = /\(agent ([0-9a-f-]+)\)/.exec(agent.output.stdout)![1]!;
    expect((await server.admin('POST', `/v1/agents/${agentId}/evict`)).status).toBe(200);
    first.release();
    expect(await agent.status).toBe(1);
    expect(agent.output.stderr).toContain('attestd-agent: daemon: stopped renewing: renew failed: 403 agent_evicted: this agent was evicted; the node must log in again\n');
  });

  it('stops when the node is banned, and the banned node cannot log in again', async () => {
    const imds = await aws.imdsFor(INSTANCE);
    const iidLogin = ['login', '--server', server.url, '--attestor', 'aws_iid', '--imds-endpoint', imds.url];
    const clock = steppedClock();
    const agent = startAgent([...iidLogin, '--out', newDir(), '--daemon'], { daemon: { clock } });
    const first = await clock.next();
    const agentId = /\(agent ([0-9a-f-]+)\)/.exec(agent.output.stdout)![1]!;
    expect((await server.admin('POST', `/v1/agents/${agentId}/ban`)).status).toBe(200);
    first.release();
    expect(await agent.status).toBe(1);
    expect(agent.output.stderr).toMatch(/attestd-agent: daemon: stopped renewing: renew failed: 403 agent_banned: /);

    const relogin = startAgent([...iidLogin, '--out', newDir(), '--daemon']);
    expect(await relogin.status).toBe(1);
    expect(relogin.output.stderr).toMatch(/^attestd-agent: login failed: 403 agent_banned: /);
  });

  it('prints a JWT-SVID that verifies against /keys with the agent\'s SPIFFE ID and the audiences asked for', async () => {
    const dir = newDir();
    const login = startAgent(await joinTokenLogin(dir));
    expect(await login.status).toBe(0);
    const { spiffeId } = await readSvid(dir);

    const jwt = startAgent(['jwt', '--server', server.url, '--out', dir, '--audience', 'sts.amazonaws.com', '--audience', 'vault']);
    expect(await jwt.status).toBe(0);
    expect(jwt.output.stderr).toBe('');
    const token = jwt.output.stdout.trim();
    const discovery = (await (await server.call('GET', '/.well-known/openid-configuration')).json()) as { issuer: string };
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/keys`)), { issuer: discovery.issuer, audience: 'vault' });
    expect(payload).toMatchObject({ sub: spiffeId, aud: ['sts.amazonaws.com', 'vault'] });
  });

  it('refuses jwt with a clear error when the directory holds no SVID', async () => {
    const jwt = startAgent(['jwt', '--server', server.url, '--out', newDir(), '--audience', 'vault']);
    expect(await jwt.status).toBe(1);
    expect(jwt.output.stderr).toMatch(/^attestd-agent: cannot read .*svid\.pem: .*; log in first/);
  });
});
