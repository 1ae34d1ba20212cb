import type { SimulationResult } from '@libs/contracts/admin-api';
import { login, newJoinToken, problemOf } from '../support/agent';
import { fakeNodeAttestor } from '../support/fake-node-attestor';
import { startTestServer, type TestServer } from '../support/server';

/** The active policies, and candidates that differ from them in one place each. */
const policies = (zones: string[], template = '/eu/{{test_node.zone}}/{{test_node.node.id}}') => `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: eu_nodes
      requiredAttestors: [{ type: test_node }]
      rules:
        - { attribute: test_node.zone, in: [${zones.join(', ')}] }
      spiffeIdTemplate: "${template}"
    - name: lab
      requiredAttestors: [{ type: join_token }]
      spiffeIdTemplate: "/lab/{{join_token.id}}"
`;

const ACTIVE = policies(['eu-west', 'eu-north']);

describe('POST /v1/config/AgentAttestation/simulate', () => {
  let server: TestServer;
  let allowedAgentId: string;
  let joinTokenId: string;

  const simulate = (candidate: string, options: { token?: string; query?: string } = {}) =>
    server.call('POST', `/v1/config/AgentAttestation/simulate${options.query ?? ''}`, {
      token: options.token ?? server.adminToken,
      body: candidate,
      headers: { 'content-type': 'application/yaml' },
    });
  const result = async (response: Response): Promise<SimulationResult> => {
    expect(response.status).toBe(200);
    return (await response.json()) as SimulationResult;
  };

  beforeAll(async () => {
    server = await startTestServer({ policies: { 'nodes.yaml': ACTIVE }, additionalAttestors: [fakeNodeAttestor] });
    // oldest first: an allowed node, a denied node, a proof that fails, a join token
    const allowed = await login(server, { test_node: { node: 'n1', zone: 'eu-west', secret: 'let-me-in' } });
    expect(allowed.status).toBe(200);
    allowedAgentId = ((await allowed.json()) as { agentId: string }).agentId;
    expect((await login(server, { test_node: { node: 'n2', zone: 'us-east', secret: 'let-me-in' } })).status).toBe(403);
    expect((await login(server, { test_node: { node: 'n3', zone: 'eu-west', secret: 'wrong' } })).status).toBe(401);
    const token = await newJoinToken(server);
    joinTokenId = token.id;
    expect((await login(server, { join_token: { token: token.token } })).status).toBe(200);
  });
  afterAll(() => server?.stop());

  it('changes nothing for the active document itself, and skips the attempt whose proof failed', async () => {
    expect(await result(await simulate(ACTIVE))).toMatchObject({
      evaluated: 3,
      unchanged: 3,
      nowAllowed: [],
      nowDenied: [],
      changed: [],
      skipped: 1,
    });
  });

  it('lists the agent a tightened rule would deny, with the rule that fails', async () => {
    const simulated = await result(await simulate(policies(['eu-north'])));
    expect(simulated).toMatchObject({ evaluated: 3, unchanged: 2, nowAllowed: [], changed: [] });
    expect(simulated.nowDenied).toEqual([
      expect.objectContaining({
        agentId: allowedAgentId,
        attestors: ['test_node'],
        attributes: { 'test_node.node.id': ['n1'], 'test_node.zone': ['eu-west'] },
        was: {
          allowed: true,
          outcome: 'success',
          code: null,
          policy: 'eu_nodes',
          spiffeId: 'spiffe://example.org/eu/eu-west/n1',
        },
        now: {
          allowed: false,
          code: 'policy_denied',
          policy: 'eu_nodes',
          spiffeId: null,
          reason: expect.stringMatching(/^policy eu_nodes: rule 1 .*test_node\.zone/),
        },
      }),
    ]);
  });

  it('lists the attempt a loosened rule would allow, with the SPIFFE ID it would get', async () => {
    const simulated = await result(await simulate(policies(['eu-west', 'eu-north', 'us-east'])));
    expect(simulated).toMatchObject({ evaluated: 3, unchanged: 2, nowDenied: [], changed: [] });
    expect(simulated.nowAllowed).toEqual([
      expect.objectContaining({
        agentId: null,
        was: { allowed: false, outcome: 'failure', code: 'policy_denied', policy: 'eu_nodes', spiffeId: null },
        now: {
          allowed: true,
          code: null,
          policy: 'eu_nodes',
          spiffeId: 'spiffe://example.org/eu/us-east/n2',
          reason: null,
        },
      }),
    ]);
  });

  it('lists agents that would stay allowed under another SPIFFE ID', async () => {
    const simulated = await result(await simulate(policies(['eu-west', 'eu-north'], '/nodes/{{test_node.node.id}}')));
    expect(simulated).toMatchObject({ evaluated: 3, unchanged: 2, nowAllowed: [], nowDenied: [] });
    expect(simulated.changed).toEqual([
      expect.objectContaining({
        agentId: allowedAgentId,
        was: expect.objectContaining({ spiffeId: 'spiffe://example.org/eu/eu-west/n1' }),
        now: expect.objectContaining({ spiffeId: 'spiffe://example.org/nodes/n1' }),
      }),
    ]);
  });

  it('denies logins whose attestor no longer has a policy', async () => {
    const withoutLab = ACTIVE.slice(0, ACTIVE.indexOf('    - name: lab'));
    const simulated = await result(await simulate(withoutLab));
    expect(simulated.nowDenied).toEqual([
      expect.objectContaining({
        attributes: { 'join_token.id': [joinTokenId] },
        was: expect.objectContaining({
          allowed: true,
          policy: 'lab',
          spiffeId: `spiffe://example.org/lab/${joinTokenId}`,
        }),
        now: expect.objectContaining({ allowed: false, code: 'no_policy_for_methods' }),
      }),
    ]);
  });

  it('reads only the newest `limit` attempts, or those since a time', async () => {
    const newest = await result(await simulate(ACTIVE, { query: '?limit=1' }));
    expect(newest).toMatchObject({ evaluated: 1, skipped: 0, window: { limit: 1, since: null } });
    const none = await result(await simulate(ACTIVE, { query: '?since=2999-01-01T00:00:00Z' }));
    expect(none).toMatchObject({
      evaluated: 0,
      skipped: 0,
      window: { limit: 1000, since: '2999-01-01T00:00:00.000Z', oldest: null, newest: null },
    });
    expect(await problemOf(await simulate(ACTIVE, { query: '?limit=10001' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
    expect(await problemOf(await simulate(ACTIVE, { query: '?since=yesterday' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
  });

  it('accepts the candidate as JSON', async () => {
    const candidate = {
      section: 'AgentAttestation',
      schema: 'v1',
      spec: {
        policies: [
          { name: 'lab', requiredAttestors: [{ type: 'join_token' }], spiffeIdTemplate: '/lab/{{join_token.id}}' },
        ],
      },
    };
    const response = await server.call('POST', '/v1/config/AgentAttestation/simulate', {
      token: server.adminToken,
      body: candidate,
    });
    const simulated = await result(response);
    expect(simulated.nowDenied.map((item) => item.agentId)).toEqual([allowedAgentId]);
  });

  it('refuses an invalid candidate as PUT does, with 422 invalid_config', async () => {
    const response = await simulate(policies(['eu-west'], '/x/{{test_node.nodeid}}'));
    const problem = (await response.json()) as {
      status: number;
      code: string;
      errors: { path: string; line?: number }[];
    };
    expect(problem).toMatchObject({ status: 422, code: 'invalid_config' });
    expect(problem.errors[0]).toMatchObject({ path: '/spec/policies/0/spiffeIdTemplate', line: expect.any(Number) });
  });

  it('refuses sections whose effect on proofs cannot be replayed', async () => {
    const certificates = 'section: AwsIidCertificates\nschema: v1\nspec:\n  certificates: []\n';
    const response = await server.call('POST', '/v1/config/AwsIidCertificates/simulate', {
      token: server.adminToken,
      body: certificates,
      headers: { 'content-type': 'application/yaml' },
    });
    expect(await problemOf(response)).toMatchObject({
      status: 400,
      code: 'invalid_request',
      detail: 'only AgentAttestation documents can be simulated, not AwsIidCertificates',
    });
  });

  it('stores and activates nothing', async () => {
    await simulate(policies(['eu-north']));
    const versions = (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as {
      items: unknown[];
    };
    expect(versions.items).toHaveLength(1);
    expect((await login(server, { test_node: { node: 'n4', zone: 'eu-west', secret: 'let-me-in' } })).status).toBe(200);
  });

  it('answers a viewer token, and 401 without a token', async () => {
    expect((await simulate(ACTIVE, { token: server.viewerToken })).status).toBe(200);
    const anonymous = await server.call('POST', '/v1/config/AgentAttestation/simulate', {
      body: ACTIVE,
      headers: { 'content-type': 'application/yaml' },
    });
    expect(await problemOf(anonymous)).toMatchObject({ status: 401, code: 'unauthenticated' });
  });

  it('is in the OpenAPI document', async () => {
    const openapi = (await (await server.call('GET', '/docs/json')).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string }[] }>>;
    };
    const route = openapi.paths['/v1/config/{section}/simulate']?.post;
    expect(route?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['section', 'limit', 'since']));
  });
});
