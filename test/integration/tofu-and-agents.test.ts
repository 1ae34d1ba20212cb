import { login, problemOf } from '../support/agent';
import { fakeNodeAttestor } from '../support/fake-node-attestor';
import { startTestServer, type TestServer } from '../support/server';

const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: zoned
      requiredAttestors: [{ type: test_node }]
      rules:
        - { attribute: test_node.zone, glob: "shared-*" }
      spiffeIdTemplate: "/zone/{{test_node.zone}}"
    - name: nodes
      requiredAttestors: [{ type: test_node }]
      rules:
        - { not: { attribute: test_node.zone, equals: quarantine } }
    - name: replaceable
      requiredAttestors: [{ type: test_node }]
      rules:
        - { attribute: test_node.zone, equals: quarantine }
      spiffeIdTemplate: "/quarantine/{{test_node.node.id}}"
      tofu: false
`;

interface AgentBody {
  agentId: string;
  spiffeId: string;
}

describe('TOFU, eviction and bans', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'nodes.yaml': POLICIES }, additionalAttestors: [fakeNodeAttestor] });
  });
  afterAll(() => server?.stop());

  const proof = (node: string, zone?: string) => ({ test_node: { node, secret: 'let-me-in', ...(zone && { zone }) } });

  async function attest(node: string, zone?: string): Promise<AgentBody> {
    const response = await login(server, proof(node, zone));
    expect(response.status).toBe(200);
    return (await response.json()) as AgentBody;
  }

  it('uses the default SPIFFE ID of the first attestor when the policy has no template', async () => {
    expect((await attest('node-default')).spiffeId).toBe('spiffe://example.org/agent/test_node/node-default');
  });

  it('refuses a second login of the same node with 409, audits it and warns', async () => {
    const first = await attest('node-a');
    const problem = await problemOf(await login(server, proof('node-a')));
    // the caller is not told which agent holds the node; the audit event and the warning name it
    expect(problem).toMatchObject({
      status: 409,
      code: 'node_already_attested',
      detail: 'this node already attested; an operator must evict it first',
    });
    const audit = (await (await server.admin('GET', `/v1/audit?agentId=${first.agentId}`)).json()) as {
      items: { outcome: string; code: string | null }[];
    };
    expect(audit.items.map((e) => [e.outcome, e.code])).toEqual([
      ['failure', 'node_already_attested'],
      ['success', null],
    ]);
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'Node already attested (TOFU); possible security incident',
        tofuKey: 'test_node/node-a',
        agentId: first.agentId,
      }),
    );
  });

  it('lets an evicted node attest again as a new agent', async () => {
    const first = await attest('node-b');
    const evicted = await server.admin('POST', `/v1/agents/${first.agentId}/evict`);
    expect(await evicted.json()).toMatchObject({ id: first.agentId, status: 'evicted' });
    const second = await attest('node-b');
    expect(second.agentId).not.toBe(first.agentId);
  });

  it('refuses a banned node with 403 until it is unbanned', async () => {
    const first = await attest('node-c');
    expect((await server.admin('POST', `/v1/agents/${first.agentId}/ban`)).status).toBe(200);
    expect(await problemOf(await login(server, proof('node-c')))).toMatchObject({ status: 403, code: 'agent_banned' });
    expect((await server.admin('POST', `/v1/agents/${first.agentId}/unban`)).status).toBe(200);
    await attest('node-c');
  });

  it('keeps a node banned even when it was evicted before the ban', async () => {
    const first = await attest('node-d');
    await server.admin('POST', `/v1/agents/${first.agentId}/evict`);
    await server.admin('POST', `/v1/agents/${first.agentId}/ban`);
    expect(await problemOf(await login(server, proof('node-d')))).toMatchObject({ status: 403, code: 'agent_banned' });
  });

  it('with tofu: false, supersedes the earlier agent of the node', async () => {
    const first = await attest('node-e', 'quarantine');
    const second = await attest('node-e', 'quarantine');
    expect(second.spiffeId).toBe('spiffe://example.org/quarantine/node-e');
    const old = (await (await server.admin('GET', `/v1/agents/${first.agentId}`)).json()) as { status: string };
    expect(old.status).toBe('evicted');
  });

  it('refuses a second node the SPIFFE ID an active agent holds with 409 spiffe_id_in_use, audits it and warns; evicting the holder frees it', async () => {
    const holder = await attest('zone-node-1', 'shared-1');
    expect(holder.spiffeId).toBe('spiffe://example.org/zone/shared-1');
    const refused = await problemOf(await login(server, proof('zone-node-2', 'shared-1')));
    expect(refused).toMatchObject({
      status: 409,
      code: 'spiffe_id_in_use',
      detail:
        'spiffe://example.org/zone/shared-1 is held by another active agent; an operator must evict that agent first',
    });
    const audit = (await (await server.admin('GET', `/v1/audit?agentId=${holder.agentId}`)).json()) as {
      items: { outcome: string; code: string | null; spiffeId: string | null; policy: string | null }[];
    };
    expect(audit.items[0]).toMatchObject({
      outcome: 'failure',
      code: 'spiffe_id_in_use',
      spiffeId: holder.spiffeId,
      policy: 'zoned',
    });
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'login: SPIFFE ID held by another active agent; refused',
        spiffeId: holder.spiffeId,
        agentId: holder.agentId,
        policy: 'zoned',
      }),
    );
    // the template was loaded with a warning: the zone is any text a node sends
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: 'config: policies file loaded with a warning',
        warning: expect.stringMatching(
          /^nodes\.yaml:\d+:\d+ \/spec\/policies\/0\/spiffeIdTemplate: \{\{test_node\.zone\}\} can be set/,
        ),
      }),
    );
    // the refused node was not recorded: it holds no TOFU key and may attest once the ID is free
    expect((await server.admin('POST', `/v1/agents/${holder.agentId}/evict`)).status).toBe(200);
    expect((await attest('zone-node-2', 'shared-1')).spiffeId).toBe(holder.spiffeId);
  });

  it('tells the agent it may log in again by itself only when the policy turns TOFU off', async () => {
    const tofu = (await (await login(server, proof('node-r1'))).json()) as { reattestable: boolean };
    expect(tofu.reattestable).toBe(false);
    const replaceable = (await (await login(server, proof('node-r2', 'quarantine'))).json()) as {
      reattestable: boolean;
    };
    expect(replaceable.reattestable).toBe(true);
  });

  it('shows an agent with its TOFU keys, attributes and SVID', async () => {
    const agent = await attest('node-f', 'eu');
    const shown = await (await server.call('GET', `/v1/agents/${agent.agentId}`, { token: server.viewerToken })).json();
    expect(shown).toMatchObject({
      id: agent.agentId,
      spiffeId: agent.spiffeId,
      attestorTypes: ['test_node'],
      tofuKeys: ['test_node/node-f'],
      status: 'active',
      policy: 'nodes',
      attributes: { 'test_node.node.id': ['node-f'], 'test_node.zone': ['eu'] },
      svidSerial: expect.stringMatching(/^[0-9a-f]+$/),
      svidExpiresAt: expect.any(String),
      firstAttestedAt: expect.any(String),
      lastSeenAt: expect.any(String),
    });
  });

  it('lists agents by status, page by page', async () => {
    for (const n of ['p1', 'p2', 'p3']) await attest(`page-${n}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/agents?status=active&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await (await server.admin('GET', query)).json()) as {
        items: { id: string; status: string }[];
        nextCursor: string | null;
      };
      expect(page.items.length).toBeLessThanOrEqual(2);
      expect(page.items.every((a) => a.status === 'active')).toBe(true);
      seen.push(...page.items.map((a) => a.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    const all = (await (await server.admin('GET', '/v1/agents?status=active&limit=500')).json()) as {
      items: unknown[];
    };
    expect(seen).toHaveLength(all.items.length);
  });

  it('answers 404 for an unknown agent', async () => {
    expect(
      await problemOf(await server.admin('POST', '/v1/agents/00000000-0000-4000-8000-000000000000/evict')),
    ).toMatchObject({ status: 404, code: 'not_found' });
  });
});
