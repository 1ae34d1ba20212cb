import { generateAgentKey } from '@apps/agent/keys';
import { runLogin } from '@apps/agent/login';
import { identityDocument } from '@libs/testing/aws-simulator';
import { OUTSIDER_ACCOUNT, presignedGetCallerIdentity, SERVER_ACCOUNT } from '@libs/testing/aws-simulator/fixtures';
import { completeLogin, login, problemOf, startLogin } from '../support/agent';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { startTestServer, type TestServer } from '../support/server';
import { temporaryDirectories } from '../support/temp-directories';

const BLOG = 'i-0b22a22eec53b9321';
const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: blog_servers
      requiredAttestors: [{ type: aws_iid }]
      rules:
        - { attribute: aws_iid.ec2.instance.tag.env, equals: prod }
        - { attribute: aws_iid.ec2.security_group.name, equals: blog }
    - name: ec2_other
      requiredAttestors: [{ type: aws_iid }]
      spiffeIdTemplate: "/ec2/{{aws_iid.ec2.instance.id}}"
    - name: tasks
      requiredAttestors: [{ type: aws_iam }]
      rules:
        - { attribute: aws_iam.principal.type, equals: assumed-role }
`;

describe('AWS logins end to end: agent, server, simulated AWS', () => {
  let aws: AwsTestbed;
  let server: TestServer;
  beforeAll(async () => {
    aws = await startAwsTestbed();
    server = await startTestServer({
      policies: { 'agents.yaml': POLICIES, 'certificates.yaml': aws.certificatesSection },
      // the burst below is 200 nodes behind one address, each on its own connection
      env: { ATTESTD_HTTP_MAX_CONNECTIONS_PER_SOURCE: '1000' },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await aws?.close();
  });
  beforeEach(() => aws.sim.log.reset());

  const tempDir = temporaryDirectories();
  const out = () => tempDir('aws-agent-');
  const iidLogin = async (instanceId: string) =>
    runLogin({
      server: server.url,
      attestors: ['aws_iid'],
      out: out(),
      imdsEndpoint: (await aws.imdsFor(instanceId)).url,
    });

  it('logs an EC2 instance in with aws_iid collected from IMDSv2, with SPIRE selectors', async () => {
    const summary = await iidLogin(BLOG);
    expect(summary.spiffeId).toBe(`spiffe://example.org/agent/aws_iid/${SERVER_ACCOUNT}/us-east-1/${BLOG}`);
    expect(summary.policy).toBe('blog_servers');
    expect(summary.reattestable).toBe(false);
    const agent = (await (await server.admin('GET', `/v1/agents/${summary.agentId}`)).json()) as {
      selectors: string[];
      tofuKeys: string[];
    };
    expect(agent.tofuKeys).toEqual([`aws_iid/${SERVER_ACCOUNT}/us-east-1/${BLOG}`]);
    expect(agent.selectors).toEqual(
      expect.arrayContaining([
        `aws_iid:instance:id:${BLOG}`,
        'aws_iid:sg:name:blog',
        'aws_iid:tag:env:prod',
        'aws_iid:image:id:ami-5fb8c835',
      ]),
    );
  });

  it('refuses the same instance a second time (TOFU)', async () => {
    await expect(iidLogin(BLOG)).rejects.toThrow(/409 node_already_attested/);
  });

  it('refuses an instance of an account no policy allows', async () => {
    aws.sim.world.addInstance({ accountId: OUTSIDER_ACCOUNT, region: 'us-east-1', instanceId: 'i-0ddddddddddddddd4' });
    // the agent is not told which account was refused; the audit log keeps it
    await expect(iidLogin('i-0ddddddddddddddd4')).rejects.toThrow(
      /401 attestation_failed: aws_iid: account is not allowed$/,
    );
    const audit = (await (await server.admin('GET', '/v1/audit?outcome=failure&limit=1')).json()) as {
      items: { reason: string }[];
    };
    expect(audit.items[0]!.reason).toBe(`aws_iid: account ${OUTSIDER_ACCOUNT} is not allowed`);
  });

  it('refuses a stopped instance', async () => {
    aws.sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId: 'i-0eeeeeeeeeeeeeee5' });
    const imds = await aws.imdsFor('i-0eeeeeeeeeeeeeee5');
    aws.sim.world.stopInstance('i-0eeeeeeeeeeeeeee5');
    await expect(
      runLogin({ server: server.url, attestors: ['aws_iid'], out: out(), imdsEndpoint: imds.url }),
    ).rejects.toThrow('aws_iid: instance i-0eeeeeeeeeeeeeee5 is stopped, not running');
  });

  it('logs in tasks sharing one role with aws_iam, each under its own agent UUID', async () => {
    const session = aws.sim.world.issueSession(`arn:aws:iam::${SERVER_ACCOUNT}:role/checkout`, 'ecs-task-1');
    const credentials = async () => ({
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
    });
    const first = await runLogin({
      server: server.url,
      attestors: ['aws_iam'],
      out: out(),
      awsRegion: 'us-east-1',
      awsCredentials: credentials,
    });
    const second = await runLogin({
      server: server.url,
      attestors: ['aws_iam'],
      out: out(),
      awsRegion: 'us-east-1',
      awsCredentials: credentials,
    });
    // nothing node-unique or single use: the task may log in again by itself
    expect(first.reattestable).toBe(true);
    expect(first.spiffeId).toMatch(
      new RegExp(`^spiffe://example.org/agent/aws_iam/${SERVER_ACCOUNT}/checkout/[0-9a-f-]{36}$`),
    );
    expect(second.spiffeId).not.toBe(first.spiffeId);
  });

  it('fails closed with 503 when AWS is unreachable, recording no agent', async () => {
    aws.sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId: 'i-0fffffffffffffff6' });
    const imds = await aws.imdsFor('i-0fffffffffffffff6');
    aws.sim.world.setDown('ec2', '503');
    try {
      await expect(
        runLogin({ server: server.url, attestors: ['aws_iid'], out: out(), imdsEndpoint: imds.url }),
      ).rejects.toThrow(/503 unavailable/);
    } finally {
      aws.sim.world.clearFaults();
    }
    const agents = (await (await server.admin('GET', '/v1/agents?attestor=aws_iid&limit=500')).json()) as {
      items: { tofuKeys: string[] }[];
    };
    expect(agents.items.flatMap((a) => a.tofuKeys)).not.toContain(
      `aws_iid/${SERVER_ACCOUNT}/us-east-1/i-0fffffffffffffff6`,
    );
  });

  it('costs at most 10 DescribeInstances calls for a burst of 200 concurrent new instances', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `i-0a${i.toString(16).padStart(15, '0')}`);
    const proofs = await Promise.all(
      ids.map(async (instanceId) => {
        const instance = aws.sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId });
        const document = identityDocument(instance);
        return { aws_iid: { document, signature: await aws.signer.sign(document) } };
      }),
    );
    const csr = (await generateAgentKey()).csrPem;
    // Started first, so that the burst is the 200 completions, which look the
    // instances up. The batcher's windows are wall-clock time (5 ms idle gap,
    // partial calls 0.4 s apart and further): started and completed
    // together, the logins reached it spread over the whole burst's work,
    // which a loaded machine stretched into more windows (16 calls once).
    const started = await Promise.all(proofs.map(() => startLogin(server, ['aws_iid'])));
    aws.sim.log.reset();
    const responses = await Promise.allSettled(proofs.map((p, i) => completeLogin(server, started[i]!, p, csr)));
    expect(
      responses.map((r) => (r.status === 'fulfilled' ? r.value.status : String(r.reason))).filter((s) => s !== 200),
    ).toEqual([]);
    expect(aws.sim.log.count({ operation: 'DescribeInstances' })).toBeLessThanOrEqual(10);
  });

  it('answers a forged identity document with 401 before asking AWS', async () => {
    const instance = aws.sim.world.getInstance(BLOG)!;
    const document = identityDocument(instance);
    const signature = await aws.signer.sign(document);
    const forged = document.replace(BLOG, 'i-0123456789abcdef0');
    const problem = await problemOf(await login(server, { aws_iid: { document: forged, signature } }));
    expect(problem).toMatchObject({ status: 401, code: 'attestation_failed' });
    expect(aws.sim.log.count()).toBe(0);
  });

  it('refuses a resubmitted completion before verifying it again: no STS call, no audit row', async () => {
    const { csrPem } = await generateAgentKey();
    const auditCount = async () =>
      ((await (await server.admin('GET', '/v1/audit?limit=500')).json()) as { items: unknown[] }).items.length;
    // a completion that succeeds, and one refused after STS answered (an account no policy allows)
    for (const [role, status] of [
      [`arn:aws:iam::${SERVER_ACCOUNT}:role/checkout`, 200],
      [`arn:aws:iam::${OUTSIDER_ACCOUNT}:role/intruder`, 401],
    ] as const) {
      const started = (await (
        await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['aws_iam'] } })
      ).json()) as { loginId: string; challenges: { aws_iam: string } };
      const session = aws.sim.world.issueSession(role, 'resubmit');
      const signed = await presignedGetCallerIdentity(session, started.challenges.aws_iam);
      const body = {
        proofs: {
          aws_iam: {
            method: signed.method,
            url: 'https://sts.us-east-1.amazonaws.com/',
            headers: signed.headers,
            body: signed.body,
          },
        },
        csr: csrPem,
      };
      const complete = () => server.call('POST', `/v1/agent/login/${started.loginId}/complete`, { body });
      expect((await complete()).status).toBe(status);
      const calls = aws.sim.log.count();
      expect(calls).toBeGreaterThanOrEqual(1); // the agent's signed GetCallerIdentity, sent on to STS
      const audited = await auditCount();
      for (let i = 0; i < 3; i++)
        expect(await problemOf(await complete())).toMatchObject({ status: 404, code: 'login_not_found' });
      expect(aws.sim.log.count()).toBe(calls);
      expect(await auditCount()).toBe(audited);
    }
  });
});
