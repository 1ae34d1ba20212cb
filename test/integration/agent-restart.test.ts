import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { SERVER_ACCOUNT } from '@libs/testing/aws-simulator/fixtures';
import { until } from '@libs/testing/until';
import { buildAgent, startAgentProcess, type AgentProcess } from '../support/agent-process';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { readSvid, startAgent, steppedClock } from '../support/in-process-agent';
import { RenewalProxy } from '../support/renewal-proxy';
import { startTestServer, type TestServer } from '../support/server';

// Nodes reboot and answers get lost: the agent, killed anywhere or cut off
// from attestd's answer, carries on as the same agent with no operator.

const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: ec2
      requiredAttestors: [{ type: aws_iid }]
      svidTtl: 5m
`;

interface AgentRow {
  id: string;
  spiffeId: string;
  status: string;
  svidSerial: string;
}

describe('an aws_iid agent through restarts and lost answers', () => {
  let aws: AwsTestbed;
  let server: TestServer;
  let proxy: RenewalProxy;
  let build: { dir: string; remove(): void } | undefined;
  const dirs: string[] = [];
  const running: AgentProcess[] = [];

  beforeAll(async () => {
    aws = await startAwsTestbed();
    server = await startTestServer({
      policies: { 'agents.yaml': POLICIES, 'certificates.yaml': aws.certificatesSection },
    });
    proxy = await RenewalProxy.start(server.url);
    build = await buildAgent();
  }, 180_000);
  afterAll(async () => {
    await Promise.all(running.map((agent) => agent.kill()));
    await proxy?.close();
    await server?.stop();
    await aws?.close();
    build?.remove();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** A new EC2 instance and the agent's command line for it, through the proxy. */
  async function newNode(): Promise<{ argv: string[]; out: string }> {
    const instanceId = `i-0${randomBytes(8).toString('hex')}`;
    aws.sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId });
    const imds = await aws.imdsFor(instanceId);
    const out = mkdtempSync(join(tmpdir(), 'agent-restart-'));
    dirs.push(out);
    return {
      out,
      argv: [
        'login',
        '--server',
        proxy.url,
        '--attestor',
        'aws_iid',
        '--imds-endpoint',
        imds.url,
        '--out',
        out,
        '--daemon',
      ],
    };
  }

  async function agentsWith(spiffeId: string): Promise<AgentRow[]> {
    const page = (await (await server.admin('GET', '/v1/agents?attestor=aws_iid&limit=500')).json()) as {
      items: AgentRow[];
    };
    return page.items.filter((agent) => agent.spiffeId === spiffeId);
  }

  async function auditOf(agentId: string): Promise<Record<string, number>> {
    const page = (await (await server.admin('GET', `/v1/audit?agentId=${agentId}&limit=500`)).json()) as {
      items: { event: string; outcome: string; code: string | null }[];
    };
    const counts: Record<string, number> = {};
    for (const e of page.items) {
      const key = `${e.event} ${e.outcome}${e.code ? ` ${e.code}` : ''}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** The files in `out`, no agent running, are a whole set: the SVID certifies the key and verifies against the bundle beside it. */
  async function expectWholeSet(out: string): Promise<void> {
    const files = await readSvid(out);
    expect(files.leaf.checkPrivateKey(createPrivateKey(files.key))).toBe(true);
    expect(files.leaf.verify(files.bundle.publicKey)).toBe(true);
    expect((await readdir(out)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  }

  it("carries on as the same agent after SIGKILL between renewals, at random points, and between attestd's commit and the file write", async () => {
    const { argv, out } = await newNode();
    const start = () => {
      const agent = startAgentProcess(build!, argv);
      running.push(agent);
      return agent;
    };
    let agent = start();
    const [, spiffeId, agentId] = await agent.stdoutMatch(/logged in as (\S+) \(agent ([0-9a-f-]{36})\)/);
    await agent.logged('SVID renewed');

    /** Kills the agent, restarts it, and sees it resume as the same agent and renew. */
    const killAndRestart = async (where: string) => {
      await agent.kill();
      agent = start();
      await agent
        .stdoutMatch(new RegExp(`^resuming as ${spiffeId} \\(agent ${agentId}\\) from `))
        .catch((error: Error) => {
          throw new Error(`after a kill ${where}: ${error.message}`);
        });
      await agent.logged('SVID renewed');
    };

    // once a renewal's files are all in place, waiting for the next one
    for (let i = 0; i < 2; i++) {
      const lastRenewed = () =>
        agent
          .logLines()
          .filter((line) => line.msg === 'SVID renewed')
          .at(-1)!.serial;
      await until(async () => (await readSvid(out).catch(() => undefined))?.serial === lastRenewed());
      await killAndRestart('between renewals');
    }
    // anywhere: renewing, writing, waiting (renewals come every 300 ms)
    const points = Array.from({ length: 6 }, () => Math.floor(Math.random() * 700));
    for (const ms of points) {
      await delay(ms);
      await killAndRestart(`${ms} ms after a renewal (points ${points.join(', ')} ms)`);
    }
    // after attestd committed a renewal, before the agent could write it
    const answer = proxy.holdNextRenewalAnswer();
    await answer.held;
    const committed = (await agentsWith(spiffeId!))[0]!.svidSerial;
    expect((await readSvid(out)).serial).not.toBe(committed);
    await agent.kill();
    answer.drop();
    await killAndRestart('between the commit and the file write');

    expect(await agent.stop()).toBe(0);
    await expectWholeSet(out);
    const rows = await agentsWith(spiffeId!);
    expect(rows).toEqual([
      expect.objectContaining({ id: agentId, status: 'active', svidSerial: (await readSvid(out)).serial }),
    ]);
    // one login; every renewal from an SVID the agent held was accepted
    const audit = await auditOf(agentId!);
    expect(Object.keys(audit).sort()).toEqual(['login success', 'renew success']);
    expect(audit['login success']).toBe(1);
  });

  it('recovers from a lost renewal answer on its next retry, with no operator and no second agent row', async () => {
    const { argv, out } = await newNode();
    const clock = steppedClock();
    const stop = new AbortController();
    const agent = startAgent(argv, { signal: stop.signal, daemon: { clock, random: () => 0 } });
    const halfLife = await agent.nextWait(clock);
    const agentId = /\(agent ([0-9a-f-]{36})\)/.exec(agent.output.stdout)![1]!;
    const before = await readSvid(out);

    const droppedBefore = proxy.dropped;
    proxy.dropNextRenewalAnswer();
    halfLife.release();
    const retry = await agent.nextWait(clock);
    expect(proxy.dropped).toBe(droppedBefore + 1);
    expect(retry.ms).toBe(500);
    expect(agent.logLines()).toContainEqual(
      expect.objectContaining({
        msg: 'SVID renewal failed; retrying',
        failures: 1,
        error: expect.stringContaining('cannot reach attestd'),
      }),
    );
    // attestd renewed; the agent still holds the SVID it renewed from
    const [lost] = await agentsWith(before.spiffeId);
    expect(lost!.svidSerial).not.toBe(before.serial);
    expect((await readSvid(out)).serial).toBe(before.serial);

    retry.release();
    await agent.nextWait(clock);
    const after = await readSvid(out);
    expect(after.serial).not.toBe(before.serial);
    expect(after.serial).not.toBe(lost!.svidSerial);
    expect(await agentsWith(before.spiffeId)).toEqual([
      expect.objectContaining({ id: agentId, status: 'active', svidSerial: after.serial }),
    ]);
    expect(await auditOf(agentId)).toEqual({ 'login success': 1, 'renew success': 2 });
    stop.abort();
    expect(await agent.status).toBe(0);
  });
});
