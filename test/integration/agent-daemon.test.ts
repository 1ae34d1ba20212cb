import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { writeSvidFiles } from '@apps/agent/files';
import { IdentityService } from '@apps/server/identity/identity.service';
import { SERVER_ACCOUNT } from '@libs/testing/aws-simulator/fixtures';
import { newJoinToken } from '../support/agent';
import { readSvid, startAgent, steppedClock } from '../support/in-process-agent';
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
    - name: ec2-replaceable
      requiredAttestors: [{ type: aws_iid }]
      rules:
        - { attribute: aws_iid.ec2.instance.tag.role, equals: replaceable }
      svidTtl: 5m
      tofu: false
    - name: ec2
      requiredAttestors: [{ type: aws_iid }]
      svidTtl: 5m
`;

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
    server = await startTestServer({
      policies: { 'agents.yaml': POLICIES, 'certificates.yaml': aws.certificatesSection },
    });
    port = new URL(server.url).port;
  });
  afterAll(async () => {
    await server?.stop();
    await aws?.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  const joinTokenLogin = async (dir: string) => [
    'login',
    '--server',
    server.url,
    '--attestor',
    'join_token',
    '--token',
    (await newJoinToken(server)).token,
    '--out',
    dir,
  ];

  it('renews at half-life with a new key, keeps the SPIFFE ID, rides out a server restart, and stops on SIGTERM', async () => {
    const dir = newDir();
    const clock = steppedClock();
    const stop = new AbortController();
    const agent = startAgent([...(await joinTokenLogin(dir)), '--daemon'], {
      signal: stop.signal,
      daemon: { clock, random: () => 0 },
    });

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
    expect(agent.logLines()).toContainEqual(
      expect.objectContaining({ level: 30, msg: 'SVID renewed', spiffeId: original.spiffeId, serial: renewed.serial }),
    );

    // attestd goes away: the daemon retries with backoff (0.5 s, then 1 s with no jitter)
    await server.server.close();
    second.release();
    const retry = await clock.next();
    expect(retry.ms).toBe(500);
    retry.release();
    const secondRetry = await clock.next();
    expect(secondRetry.ms).toBe(1_000);
    expect(agent.logLines()).toContainEqual(
      expect.objectContaining({
        msg: 'SVID renewal failed; retrying',
        failures: 2,
        error: expect.stringContaining('cannot reach attestd'),
      }),
    );

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

  it('after an eviction tries to log in again, and stops when its join token is spent', async () => {
    const dir = newDir();
    const clock = steppedClock();
    const agent = startAgent([...(await joinTokenLogin(dir)), '--daemon'], { daemon: { clock } });
    const first = await clock.next();
    const agentId = /\(agent ([0-9a-f-]+)\)/.exec(agent.output.stdout)![1]!;
    expect((await server.admin('POST', `/v1/agents/${agentId}/evict`)).status).toBe(200);
    first.release();
    expect(await agent.status).toBe(1);
    expect(agent.output.stderr).toContain(
      `attestd-agent: daemon: attestd evicted agent ${agentId}; logging in again failed: login failed: 401 attestation_failed: join_token: token is unknown, expired or already used\n`,
    );
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

  it("prints a JWT-SVID that verifies against /keys with the agent's SPIFFE ID and the audiences asked for", async () => {
    const dir = newDir();
    const login = startAgent(await joinTokenLogin(dir));
    expect(await login.status).toBe(0);
    const { spiffeId } = await readSvid(dir);

    const jwt = startAgent([
      'jwt',
      '--server',
      server.url,
      '--out',
      dir,
      '--audience',
      'sts.amazonaws.com',
      '--audience',
      'vault',
    ]);
    expect(await jwt.status).toBe(0);
    expect(jwt.output.stderr).toBe('');
    const token = jwt.output.stdout.trim();
    const discovery = (await (await server.call('GET', '/.well-known/openid-configuration')).json()) as {
      issuer: string;
    };
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.url}/keys`)), {
      issuer: discovery.issuer,
      audience: 'vault',
    });
    expect(payload).toMatchObject({ sub: spiffeId, aud: ['sts.amazonaws.com', 'vault'] });
  });

  it('refuses jwt with a clear error when the directory holds no SVID', async () => {
    const jwt = startAgent(['jwt', '--server', server.url, '--out', newDir(), '--audience', 'vault']);
    expect(await jwt.status).toBe(1);
    expect(jwt.output.stderr).toMatch(/^attestd-agent: cannot read .*svid\.pem: .*; log in first/);
  });

  describe('restarted', () => {
    /** an EC2 instance of its own for each test, so TOFU records do not meet */
    async function newInstance(tags: Record<string, string> = {}): Promise<string[]> {
      const instanceId = `i-0${randomBytes(8).toString('hex')}`;
      aws.sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId, tags });
      const imds = await aws.imdsFor(instanceId);
      return [
        'login',
        '--server',
        server.url,
        '--attestor',
        'aws_iid',
        '--imds-endpoint',
        imds.url,
        '--out',
        newDir(),
        '--daemon',
      ];
    }
    const outOf = (argv: string[]) => argv[argv.indexOf('--out') + 1]!;
    const agentIdIn = (text: string) => /\(agent ([0-9a-f-]+|unknown)\)/.exec(text)![1]!;

    /** Runs the daemon until its first wait, then stops it as SIGTERM does. */
    async function runUntilFirstWait(argv: string[]): Promise<{ stdout: string; stderr: string }> {
      const clock = steppedClock();
      const stop = new AbortController();
      const agent = startAgent(argv, { signal: stop.signal, daemon: { clock } });
      await agent.nextWait(clock);
      stop.abort();
      expect(await agent.status).toBe(0);
      return agent.output;
    }

    async function auditOf(agentId: string): Promise<string[]> {
      const page = (await (await server.admin('GET', `/v1/audit?agentId=${agentId}&limit=100`)).json()) as {
        items: { event: string; outcome: string; code: string | null }[];
      };
      return page.items.map((e) => `${e.event} ${e.outcome}${e.code ? ` ${e.code}` : ''}`).reverse();
    }

    /**
     * Replaces the SVID in `dir` by one for the same key and SPIFFE ID that
     * attestd's CA signed as early as it could, valid for a second: what a
     * node finds after a long stop.
     */
    async function expireSvidIn(dir: string): Promise<void> {
      const held = await readSvid(dir);
      const identity = server.server.app.get(IdentityService);
      const expired = identity.ca.issueX509Svid({
        spiffeId: held.spiffeId,
        subjectPublicKey: createPublicKey(createPrivateKey(held.key)),
        ttlSeconds: 1,
        now: identity.ca.notBefore,
      });
      expect(expired.notAfter.getTime()).toBeLessThan(Date.now());
      await writeSvidFiles(dir, { certChain: expired.chainPem, privateKeyPem: held.key, bundle: identity.bundlePem() });
    }

    it('renews from the SVID on disk with the same agent and SPIFFE ID, logging in no more (aws_iid, TOFU)', async () => {
      const argv = await newInstance();
      const first = await runUntilFirstWait(argv);
      const agentId = agentIdIn(first.stdout);
      const before = await readSvid(outOf(argv));

      const clock = steppedClock();
      const stop = new AbortController();
      const restarted = startAgent(argv, { signal: stop.signal, daemon: { clock } });
      (await restarted.nextWait(clock)).release();
      await restarted.nextWait(clock);
      expect(restarted.output.stdout).toBe(
        `resuming as ${before.spiffeId} (agent ${agentId}) from ${outOf(argv)}, SVID expires ${before.leaf.validToDate.toISOString()}\n`,
      );
      const after = await readSvid(outOf(argv));
      expect(after.spiffeId).toBe(before.spiffeId);
      expect(after.serial).not.toBe(before.serial);
      stop.abort();
      expect(await restarted.status).toBe(0);
      expect(await auditOf(agentId)).toEqual(['login success', 'renew success']);
      expect(JSON.parse(await readFile(join(outOf(argv), 'agent.json'), 'utf8'))).toEqual({
        agentId,
        spiffeId: before.spiffeId,
        reattestable: false,
      });
    });

    it('stops with one line naming attestctl agents evict when the SVID expired on a TOFU node, and logs in once an operator evicted it', async () => {
      const argv = await newInstance();
      const agentId = agentIdIn((await runUntilFirstWait(argv)).stdout);
      await expireSvidIn(outOf(argv));

      const refusing = steppedClock();
      const refused = startAgent(argv, { daemon: { clock: refusing } });
      (await refused.nextWait(refusing)).release(); // no wait: the SVID expired already
      expect(await refused.status).toBe(1);
      const lines = refused.output.stderr.split('\n').filter((line) => line.startsWith('attestd-agent: '));
      expect(lines).toEqual([
        expect.stringMatching(
          new RegExp(
            `^attestd-agent: daemon: the SVID expired at \\S+, and this node attested with TOFU, so it cannot log in again by itself: an operator must run 'attestctl agents evict ${agentId}' \\(attestd: 409 node_already_attested\\); the agent then logs in at its next start$`,
          ),
        ),
      ]);

      expect((await server.admin('POST', `/v1/agents/${agentId}/evict`)).status).toBe(200);
      const clock = steppedClock();
      const stop = new AbortController();
      const again = startAgent(argv, { signal: stop.signal, daemon: { clock } });
      (await again.nextWait(clock)).release(); // no wait: the SVID expired already
      await again.nextWait(clock);
      const state = JSON.parse(await readFile(join(outOf(argv), 'agent.json'), 'utf8')) as { agentId: string };
      expect(state.agentId).not.toBe(agentId);
      expect(again.logLines()).toContainEqual(
        expect.objectContaining({ msg: 'Logged in again', agentId: state.agentId }),
      );
      stop.abort();
      expect(await again.status).toBe(0);
    });

    it('logs in again by itself when the SVID expired and the policy turns TOFU off', async () => {
      const argv = await newInstance({ role: 'replaceable' });
      const first = await runUntilFirstWait(argv);
      const agentId = agentIdIn(first.stdout);
      expect(JSON.parse(await readFile(join(outOf(argv), 'agent.json'), 'utf8'))).toMatchObject({ reattestable: true });
      await expireSvidIn(outOf(argv));

      const clock = steppedClock();
      const stop = new AbortController();
      const again = startAgent(argv, { signal: stop.signal, daemon: { clock } });
      (await again.nextWait(clock)).release(); // no wait: the SVID expired already
      await again.nextWait(clock);
      const renewedBy = again.logLines().find((line) => line.msg === 'Logged in again')!;
      expect(renewedBy).toMatchObject({ reattestable: true, spiffeId: (await readSvid(outOf(argv))).spiffeId });
      expect(renewedBy.agentId).not.toBe(agentId);
      expect(((await (await server.admin('GET', `/v1/agents/${agentId}`)).json()) as { status: string }).status).toBe(
        'evicted',
      );
      stop.abort();
      expect(await again.status).toBe(0);
    });

    it('logs in again by itself, still running, when an operator evicts the agent of a TOFU node', async () => {
      const argv = await newInstance();
      const clock = steppedClock();
      const stop = new AbortController();
      const agent = startAgent(argv, { signal: stop.signal, daemon: { clock } });
      const first = await agent.nextWait(clock);
      const agentId = agentIdIn(agent.output.stdout);
      expect((await server.admin('POST', `/v1/agents/${agentId}/evict`)).status).toBe(200);
      first.release();
      await agent.nextWait(clock);
      const state = JSON.parse(await readFile(join(outOf(argv), 'agent.json'), 'utf8')) as { agentId: string };
      expect(state.agentId).not.toBe(agentId);
      expect(agent.logLines()).toContainEqual(
        expect.objectContaining({ msg: 'Logging in again', reason: `attestd evicted agent ${agentId}` }),
      );
      stop.abort();
      expect(await agent.status).toBe(0);
    });
  });
});
