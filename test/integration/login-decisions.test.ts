import { generateAgentKey } from '@apps/agent/keys';
import { login, problemOf } from '../support/agent';
import { fakeNodeAttestor } from '../support/fake-node-attestor';
import { startTestServer, type TestServer } from '../support/server';

const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: eu_nodes
      requiredAttestors: [{ type: test_node }]
      rules:
        - { attribute: test_node.zone, in: [eu-west, eu-north] }
      spiffeIdTemplate: "/eu/{{test_node.zone}}/{{test_node.node.id}}"
`;

interface AuditItem {
  outcome: string;
  code: string | null;
  reason: string | null;
  policy: string | null;
  attributes: Record<string, string[]> | null;
}

describe('login decisions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'eu.yaml': POLICIES }, additionalAttestors: [fakeNodeAttestor] });
  });
  afterAll(() => server?.stop());

  const proof = (node: string, zone: string, secret = 'let-me-in') => ({ test_node: { node, zone, secret } });
  const lastAudit = async (): Promise<AuditItem> =>
    ((await (await server.admin('GET', '/v1/audit?limit=1')).json()) as { items: AuditItem[] }).items[0]!;

  it('authorizes when the rules hold and templates the SPIFFE ID from the attributes', async () => {
    const response = await login(server, proof('n1', 'eu-west'));
    expect(await response.json()).toMatchObject({ spiffeId: 'spiffe://example.org/eu/eu-west/n1', policy: 'eu_nodes' });
  });

  it('denies with 403 policy_denied naming the policy; the audit event and the log name the rule, with the attributes', async () => {
    const problem = await problemOf(await login(server, proof('n2', 'us-east')));
    // the rule and its operands would tell a prober what to forge
    expect(problem).toMatchObject({ status: 403, code: 'policy_denied', detail: 'policy eu_nodes: rules do not hold' });
    const audited = await lastAudit();
    expect(audited).toMatchObject({
      outcome: 'failure',
      code: 'policy_denied',
      policy: 'eu_nodes',
      reason: expect.stringMatching(/^policy eu_nodes: rule 1 .*test_node\.zone/),
      attributes: { 'test_node.zone': ['us-east'], 'test_node.node.id': ['n2'] },
    });
    expect(server.logs).toContainEqual(
      expect.objectContaining({ msg: 'Attestor rejected proof, policy failed', reason: audited.reason }),
    );
  });

  it('answers 401 attestation_failed naming the attestor when a proof does not verify', async () => {
    const problem = await problemOf(await login(server, proof('n3', 'eu-west', 'wrong')));
    expect(problem).toMatchObject({ status: 401, code: 'attestation_failed', detail: 'test_node: secret is wrong' });
    expect(await lastAudit()).toMatchObject({
      outcome: 'failure',
      code: 'attestation_failed',
      reason: 'test_node: secret is wrong',
    });
  });

  it('denies a SPIFFE ID whose attribute falls outside the path alphabet, naming the attribute', async () => {
    const problem = await problemOf(await login(server, proof('n4@evil', 'eu-west')));
    expect(problem).toMatchObject({ status: 403, code: 'policy_denied' });
    expect(problem.detail).toContain('test_node.node.id');
  });

  it('uses up a login ID whose completion failed, whatever failed: a refused proof or a malformed body', async () => {
    const { csrPem } = await generateAgentKey();
    for (const first of [
      { zone: 'us-east', csr: csrPem, status: 403 },
      { zone: 'eu-west', csr: 'not a CSR', status: 400 },
    ]) {
      const started = (await (
        await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['test_node'] } })
      ).json()) as { loginId: string };
      const complete = (zone: string, csr: string) =>
        server.call('POST', `/v1/agent/login/${started.loginId}/complete`, {
          body: { proofs: proof('n5', zone), csr },
        });
      const refused = await complete(first.zone, first.csr);
      expect(refused.status).toBe(first.status);
      const { requestId } = (await refused.json()) as { requestId: string };
      const audit = (await (await server.admin('GET', '/v1/audit?outcome=failure&limit=20')).json()) as {
        items: { requestId: string; code: string }[];
      };
      expect(audit.items.filter((event) => event.requestId === requestId)).toHaveLength(1);
      expect(await problemOf(await complete('eu-west', csrPem))).toMatchObject({
        status: 404,
        code: 'login_not_found',
      });
    }
  });

  it('refuses a proof for a method that was not announced at start', async () => {
    const started = (await (
      await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['test_node'] } })
    ).json()) as { loginId: string };
    const response = await server.call('POST', `/v1/agent/login/${started.loginId}/complete`, {
      body: { proofs: { ...proof('n6', 'eu-west'), join_token: { token: 'x' } }, csr: 'x' },
    });
    expect(await problemOf(response)).toMatchObject({
      status: 400,
      code: 'invalid_request',
      detail: expect.stringContaining('/proofs/join_token'),
    });
  });

  it('lists the audit log newest first, filtered by outcome and time, page by page', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/audit?outcome=failure&since=${since}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (await server.admin('GET', query)).json()) as {
        items: { id: string; outcome: string; at: string }[];
        nextCursor: string | null;
      };
      expect(page.items.every((e) => e.outcome === 'failure' && e.at >= since)).toBe(true);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect([...seen].sort((a, b) => Number(b) - Number(a))).toEqual(seen);
    const future = (await (
      await server.admin('GET', `/v1/audit?since=${new Date(Date.now() + 60_000).toISOString()}`)
    ).json()) as { items: unknown[] };
    expect(future.items).toEqual([]);
  });
});

describe('per-source rate limit on the Agent API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: { ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '1', ATTESTD_RATE_LIMIT_AGENT_BURST: '3' },
    });
  });
  afterAll(() => server?.stop());

  it('answers 429 rate_limited with Retry-After past the burst, and leaves admin routes alone', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 5; i++) {
      const response = await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['join_token'] } });
      statuses.push(response.status);
      if (response.status === 429) limited = response;
      else await response.arrayBuffer();
    }
    expect(statuses.slice(0, 3).every((s) => s !== 429)).toBe(true);
    expect(limited).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await problemOf(limited!)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect((await server.admin('GET', '/v1/agents')).status).toBe(200);
  });
});
