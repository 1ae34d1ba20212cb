import fc from 'fast-check';
import { generateAgentKey } from '../../apps/agent/keys';
import { newJoinToken } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';

/** Every malformed input gets a 4xx problem document: never a 500, never a success. */
describe('malformed input', () => {
  let server: TestServer;
  let csr: string;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() } });
    csr = (await generateAgentKey()).csrPem;
  });
  afterAll(() => server.stop());

  async function expectProblem(response: Response, allowed: number[]): Promise<void> {
    const text = await response.text();
    if (!allowed.includes(response.status)) throw new Error(`unexpected ${response.status}: ${text}`);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(text)).toMatchObject({ status: response.status, code: expect.any(String), detail: expect.any(String), requestId: expect.any(String) });
  }

  async function startLogin(): Promise<string> {
    const started = await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['join_token'] } });
    return ((await started.json()) as { loginId: string }).loginId;
  }

  it('login start: any JSON value that is not a valid body is a 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (body) => {
        await expectProblem(await server.call('POST', '/v1/agent/login', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }), [400]);
      }),
      { numRuns: 60 },
    );
  });

  it('login start: text that is not JSON is a 400, another media type a 415', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }), async (text) => {
        await expectProblem(await server.call('POST', '/v1/agent/login', { body: text, headers: { 'content-type': 'application/json' } }), [400]);
      }),
      { numRuns: 40 },
    );
    await expectProblem(await server.call('POST', '/v1/agent/login', { body: 'x', headers: { 'content-type': 'application/octet-stream' } }), [415]);
  });

  it('login complete: arbitrary proofs and CSRs never succeed', async () => {
    const { token } = await newJoinToken(server);
    const proof = fc.oneof(fc.jsonValue(), fc.record({ token: fc.oneof(fc.string(), fc.constant(token)) }, { requiredKeys: [] }));
    const body = fc.oneof(
      fc.record({ proofs: fc.record({ join_token: proof }), csr: fc.oneof(fc.string(), fc.constant('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n')) }),
      fc.record({ proofs: fc.dictionary(fc.string(), fc.jsonValue()), csr: fc.constant(csr) }),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const loginId = await startLogin();
        await expectProblem(await server.call('POST', `/v1/agent/login/${loginId}/complete`, { body: value as object }), [400, 401, 403, 404]);
      }),
      { numRuns: 60 },
    );
  });

  it('login complete: arbitrary login IDs are 404 (or 400)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 300 }), async (loginId) => {
        await expectProblem(
          await server.call('POST', `/v1/agent/login/${encodeURIComponent(loginId)}/complete`, { body: { proofs: {}, csr } }),
          [400, 404],
        );
      }),
      { numRuns: 60 },
    );
  });

  it('agent bodies over 64 KiB are a 413', async () => {
    const big = { providedMethods: ['join_token'], pad: 'x'.repeat(70 * 1024) };
    await expectProblem(await server.call('POST', '/v1/agent/login', { body: big }), [413]);
  });

  it('configuration documents: arbitrary text is a 422 (or 400), and nothing is stored', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v))), async (text) => {
        const response = await server.call('PUT', '/v1/config/AgentAttestation', {
          token: server.adminToken,
          body: text,
          headers: { 'content-type': 'application/yaml' },
        });
        await expectProblem(response, [400, 422]);
      }),
      { numRuns: 80 },
    );
    const versions = (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as { items: unknown[] };
    expect(versions.items).toHaveLength(1);
  });

  it('admin bodies and queries: arbitrary values are a 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue().filter((v) => !(v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)), async (body) => {
        await expectProblem(await server.admin('POST', '/v1/join-tokens', body === null ? 'null' : (body as object)), [400, 415]);
      }),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('status', 'limit', 'cursor', 'attestor'), fc.string({ minLength: 1 }), async (name, value) => {
        const response = await server.admin('GET', `/v1/agents?${name}=${encodeURIComponent(value)}`);
        if (response.status !== 200) await expectProblem(response, [400]);
      }),
      { numRuns: 60 },
    );
  });
});
