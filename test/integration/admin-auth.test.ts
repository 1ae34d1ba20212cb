import { createHash } from 'node:crypto';
import { problemOf } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';

describe('admin API authentication', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it.each([
    ['GET', '/v1/agents'],
    ['GET', '/v1/audit'],
    ['POST', '/v1/join-tokens'],
    ['GET', '/v1/config/AgentAttestation'],
    ['PUT', '/v1/config/AgentAttestation'],
  ])('%s %s answers 401 without a token', async (method, path) => {
    expect(await problemOf(await server.call(method, path, method === 'GET' ? {} : { body: {} }))).toMatchObject({
      status: 401,
      code: 'unauthenticated',
    });
  });

  it('answers 401 to a wrong token and to a malformed Authorization header', async () => {
    expect((await server.call('GET', '/v1/agents', { token: 'wrong-token-wrong-token' })).status).toBe(401);
    expect(
      (await server.call('GET', '/v1/agents', { headers: { authorization: `Basic ${server.adminToken}` } })).status,
    ).toBe(401);
  });

  it('lets a viewer read and refuses its writes with 403', async () => {
    expect((await server.call('GET', '/v1/agents', { token: server.viewerToken })).status).toBe(200);
    expect(
      await problemOf(await server.call('POST', '/v1/join-tokens', { token: server.viewerToken, body: {} })),
    ).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('creates join tokens shown once, stored hashed and audited', async () => {
    const response = await server.admin('POST', '/v1/join-tokens', { ttlSeconds: 3600 });
    expect(response.status).toBe(201);
    const created = (await response.json()) as { id: string; token: string; expiresAt: string };
    expect(created.token).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/); // never read as an option on a command line
    expect(Date.parse(created.expiresAt) - Date.now()).toBeGreaterThan(3590_000);
    const audit = (await (await server.admin('GET', '/v1/audit')).json()) as {
      items: { event: string; actor: string }[];
    };
    expect(audit.items[0]).toMatchObject({ event: 'join_token_created', actor: expect.stringMatching(/^admin:/) });
    expect(JSON.stringify(audit)).not.toContain(created.token);
  });

  it('names the admin token a viewer sees in createdBy and the audit log by a server-side MAC, never by its hash, the same after a restart', async () => {
    const actorOf = (logs: TestServer['logs']) =>
      (logs.find((l) => l.msg === 'admin: tokens loaded')!.tokens as { source: string; actor: string }[]).find(
        (t) => t.source === 'adminTokens[0]',
      )!.actor;
    const actor = actorOf(server.logs);
    expect(actor).toMatch(/^admin:token-[0-9a-f]{16}$/);
    const pushed = await server.call('PUT', '/v1/config/AgentAttestation', {
      token: server.adminToken,
      body: joinTokenPolicy(),
      headers: { 'content-type': 'application/yaml' },
    });
    expect(pushed.status).toBeLessThan(300);
    expect((await server.admin('POST', '/v1/join-tokens', { ttlSeconds: 60 })).status).toBe(201);
    const versions = (await (
      await server.call('GET', '/v1/config/AgentAttestation/versions', { token: server.viewerToken })
    ).json()) as { items: { createdBy: string }[] };
    const audit = (await (await server.call('GET', '/v1/audit', { token: server.viewerToken })).json()) as {
      items: { actor: string | null }[];
    };
    expect(versions.items.at(-1)!.createdBy).toBe(actor);
    expect(audit.items.filter((e) => e.actor?.startsWith('admin:')).map((e) => e.actor)).toEqual(
      expect.arrayContaining([actor]),
    );
    const hash = createHash('sha256').update(server.adminToken).digest('hex');
    const seen = JSON.stringify([versions, audit]);
    for (let at = 0; at + 8 <= hash.length; at++) expect(seen).not.toContain(hash.slice(at, at + 8));
    server = await server.restart();
    expect(actorOf(server.logs)).toBe(actor);
  });

  it('serves health and bundle without a token', async () => {
    expect((await server.call('GET', '/healthz')).status).toBe(200);
    expect((await server.call('GET', '/readyz')).status).toBe(200);
    expect(await (await server.call('GET', '/v1/bundle')).text()).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });
});

describe('API documentation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('serves OpenAPI generated from the controllers, with the request schemas the server validates with', async () => {
    const document = (await (await server.call('GET', '/docs/json')).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { required?: string[] } }> } }>
      >;
    };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/agent/login',
        '/v1/agent/login/{loginId}/complete',
        '/v1/agents',
        '/v1/audit',
        '/v1/join-tokens',
        '/v1/bundle',
      ]),
    );
    expect(document.paths['/v1/agent/login']!.post!.requestBody!.content['application/json']!.schema.required).toEqual([
      'providedMethods',
    ]);
    expect((await server.call('GET', '/docs')).status).toBe(200);
  });
});
