import { randomBytes } from 'node:crypto';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { Client } from 'pg';
import { generateAgentKey } from '@apps/agent/keys';
import { DEFAULT_SDK_LIMITS } from '@libs/attestors/aws/cloud/clients';
import { identityDocument } from '@libs/testing/aws-simulator';
import { SERVER_ACCOUNT } from '@libs/testing/aws-simulator/fixtures';
import { login, newJoinToken, problemOf } from '../support/agent';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { runAsAdmin } from '../support/database';
import { startTestServer, type TestServer } from '../support/server';

// Fault tests (operations.md, "Fail closed"): the database or a cloud API
// unreachable, throttling or slow. Logins and admin calls answer 503 with a
// problem, nothing half-written is left behind, and service comes back.

/** CI always has this server; the PGlite run uses it here too, since a proxy cannot sit in front of an embedded database. */
const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** A TCP proxy in front of PostgreSQL that the test can cut (refusing and dropping connections) and restore. */
class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  /** when armed: cut right after forwarding the first client chunk (a query) that holds this text */
  private marker?: string;
  private server?: Server;
  port = 0;

  constructor(private readonly upstream: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      if (this.cut) return void client.destroy();
      const upstream = new Socket();
      upstream.connect(this.upstream.port, this.upstream.host);
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(a);
        a.pipe(b);
        if (a === client) a.on('data', (chunk: Buffer) => this.watch(chunk));
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** New connections are refused and open ones dropped, as when PostgreSQL stops. */
  disconnect(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  reconnect(): void {
    this.cut = false;
    this.marker = undefined;
  }

  /** Cuts right after the server sends a query holding `marker`: it reaches PostgreSQL, its answer never comes back. */
  disconnectOnQuery(marker: string): void {
    this.marker = marker;
  }

  private watch(chunk: Buffer): void {
    if (this.marker === undefined || !chunk.includes(this.marker)) return;
    this.marker = undefined;
    setImmediate(() => this.disconnect());
  }

  async close(): Promise<void> {
    this.disconnect();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The server answers within `ms`; a failure here means a request hung on the fault instead of failing closed. */
async function within<T>(ms: number, what: string, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call(), hung]);
  } finally {
    clearTimeout(timer);
  }
}

describe('PostgreSQL unreachable mid-run', () => {
  const name = `attestd_faults_${randomBytes(6).toString('hex')}`;
  const upstream = new URL(POSTGRES_URL);
  const directUrl = Object.assign(new URL(POSTGRES_URL), { pathname: `/${name}` }).toString();
  const proxy = new CuttableProxy({ host: upstream.hostname, port: Number(upstream.port || 5432) });
  let server: TestServer;

  beforeAll(async () => {
    await runAsAdmin(POSTGRES_URL, `CREATE DATABASE ${name}`);
    await proxy.start();
    const viaProxy = Object.assign(new URL(directUrl), { port: String(proxy.port) }).toString();
    server = await startTestServer({
      env: { DATABASE_URL: viaProxy },
      policies: {
        'lab.yaml':
          'section: AgentAttestation\nschema: v1\nspec:\n  policies:\n    - name: lab\n      requiredAttestors: [{ type: join_token }]\n',
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await proxy.close();
    await runAsAdmin(POSTGRES_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  it('answers logins, admin calls and /readyz with 503 problems while it is gone, and serves again when it is back', async () => {
    const { token } = await newJoinToken(server);
    const held = await newJoinToken(server);
    const agent = (await (await login(server, { join_token: { token: held.token } })).json()) as { agentId: string };
    expect((await server.call('GET', '/readyz')).status).toBe(200);

    proxy.disconnect();
    const unavailable = { status: 503, code: 'unavailable', contentType: 'application/problem+json' };
    const calls: [string, () => Promise<Response>][] = [
      ['readyz', () => server.call('GET', '/readyz')],
      ['login', () => login(server, { join_token: { token } })],
      ['create join token', () => server.admin('POST', '/v1/join-tokens', { ttlSeconds: 600 })],
      ['list agents', () => server.admin('GET', '/v1/agents')],
      ['evict', () => server.admin('POST', `/v1/agents/${agent.agentId}/evict`)],
      ['list audit', () => server.admin('GET', '/v1/audit')],
    ];
    for (const [what, call] of calls)
      expect(await problemOf(await within(15_000, what, call))).toMatchObject(unavailable);
    expect((await server.call('GET', '/healthz')).status).toBe(200);

    proxy.reconnect();
    expect((await server.call('GET', '/readyz')).status).toBe(200);
    expect((await login(server, { join_token: { token } })).status).toBe(200); // the failed attempt did not use the token up
    const shown = (await (await server.admin('GET', `/v1/agents/${agent.agentId}`)).json()) as { status: string };
    expect(shown.status).toBe('active'); // the refused eviction did not happen
  });

  it('leaves no half-written login when the connection drops under a burst, with a query in flight', async () => {
    const tokens = await Promise.all(Array.from({ length: 12 }, () => newJoinToken(server)));
    const csr = (await generateAgentKey()).csrPem;
    proxy.disconnectOnQuery('join_tokens'); // the first join-token look-up: the answer to a query in flight is lost
    const statuses = (
      await within(20_000, 'burst', () =>
        Promise.all(tokens.map(({ token }) => login(server, { join_token: { token } }, csr))),
      )
    ).map((r) => r.status);
    proxy.reconnect();
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);

    // no agent without its audit event, no used join token without its agent
    const orphans = await query<{ id: string }>(
      directUrl,
      `SELECT a.id FROM agents a WHERE NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.agent_id = a.id AND e.event = 'login' AND e.outcome = 'success')`,
    );
    expect(orphans).toEqual([]);
    const usedWithoutAgent = await query<{ id: string }>(
      directUrl,
      `SELECT t.id FROM join_tokens t WHERE t.used_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = t.used_by_agent)`,
    );
    expect(usedWithoutAgent).toEqual([]);
    // Retrying the refused logins: a token is still good, unless its write reached PostgreSQL just before the cut and
    // only the answer was lost (then it is used, by an agent with its audit event, as checked above). Either way every
    // token ends used by exactly one agent.
    const retried = await Promise.all(
      tokens.filter((_, i) => statuses[i] === 503).map(({ token }) => login(server, { join_token: { token } }, csr)),
    );
    expect(retried.map((r) => r.status).filter((s) => s !== 200 && s !== 401)).toEqual([]);
    const ids = tokens.map((t) => `'${t.id}'`).join(',');
    const used = await query<{ n: string }>(
      directUrl,
      `SELECT count(*) AS n FROM join_tokens t JOIN agents a ON a.id = t.used_by_agent WHERE t.id IN (${ids})`,
    );
    expect(Number(used[0]!.n)).toBe(tokens.length);
  });
});

describe('AWS unreachable, throttling or slow', () => {
  const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
    - name: ec2
      requiredAttestors: [{ type: aws_iid }]
`;
  /** Longest a login may wait on one AWS call: every attempt timing out, plus the SDK's backoff and a margin for a loaded machine. */
  const CLOUD_BOUND_MS =
    DEFAULT_SDK_LIMITS.maxAttempts * (DEFAULT_SDK_LIMITS.connectionTimeoutMs + DEFAULT_SDK_LIMITS.requestTimeoutMs) +
    5_000;
  let aws: AwsTestbed;
  let server: TestServer;
  let instanceCount = 0;
  beforeAll(async () => {
    aws = await startAwsTestbed();
    server = await startTestServer({
      policies: { 'agents.yaml': POLICIES, 'certificates.yaml': aws.certificatesSection },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await aws?.close();
  });
  afterEach(() => aws.sim.world.clearFaults());

  /** A new instance (never described, so nothing cached) and its signed identity document. */
  async function newInstanceProof(): Promise<{
    instanceId: string;
    proof: { aws_iid: { document: string; signature: string } };
  }> {
    const instanceId = `i-0fa${(instanceCount++).toString(16).padStart(14, '0')}`;
    const instance = aws.sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId });
    const document = identityDocument(instance);
    return { instanceId, proof: { aws_iid: { document, signature: await aws.signer.sign(document) } } };
  }

  const describeCalls = (instanceId: string) =>
    aws.sim.log.entries({ operation: 'DescribeInstances' }).filter((e) => Object.values(e.params).includes(instanceId))
      .length;

  it.each([
    ['down (503)', () => aws.sim.world.setDown('ec2', '503')],
    ['down (connection reset)', () => aws.sim.world.setDown('ec2', 'reset')],
    ['throttling', () => aws.sim.world.setThrottle('ec2', 1_000)],
  ])(
    'EC2 %s: a login fails closed with 503 after a bounded number of attempts, and succeeds once EC2 is back',
    async (_, fault) => {
      const { instanceId, proof } = await newInstanceProof();
      fault();
      const refused = await within(CLOUD_BOUND_MS, 'login', () => login(server, proof));
      expect(await problemOf(refused)).toMatchObject({
        status: 503,
        code: 'unavailable',
        contentType: 'application/problem+json',
      });
      expect(describeCalls(instanceId)).toBeGreaterThanOrEqual(1);
      expect(describeCalls(instanceId)).toBeLessThanOrEqual(DEFAULT_SDK_LIMITS.maxAttempts);
      const agents = (await (await server.admin('GET', '/v1/agents?attestor=aws_iid&limit=500')).json()) as {
        items: { tofuKeys: string[] }[];
      };
      expect(agents.items.flatMap((a) => a.tofuKeys)).not.toContain(
        `aws_iid/${SERVER_ACCOUNT}/us-east-1/${instanceId}`,
      );

      aws.sim.world.clearFaults();
      expect((await login(server, proof)).status).toBe(200); // the failure was not cached
    },
  );

  it('slow EC2: a login needing it gets 503 within the SDK timeout bound, while join-token and warm-cache logins succeed', async () => {
    // warm: an instance attested (so described and cached), then evicted so that it may attest again
    const warm = await newInstanceProof();
    const first = (await (await login(server, warm.proof)).json()) as { agentId: string };
    expect((await server.admin('POST', `/v1/agents/${first.agentId}/evict`)).status).toBe(200);
    const cold = await newInstanceProof();
    const { token } = await newJoinToken(server);

    aws.sim.world.setLatency('ec2', DEFAULT_SDK_LIMITS.requestTimeoutMs + 2_000);
    const slow = within(CLOUD_BOUND_MS, 'cold login', () => login(server, cold.proof));
    const [joined, rewarmed] = await Promise.all([login(server, { join_token: { token } }), login(server, warm.proof)]);
    expect(joined.status).toBe(200);
    expect(rewarmed.status).toBe(200);
    expect(await problemOf(await slow)).toMatchObject({ status: 503, code: 'unavailable' });
    expect(describeCalls(cold.instanceId)).toBeLessThanOrEqual(DEFAULT_SDK_LIMITS.maxAttempts);
  }, 180_000);
});
