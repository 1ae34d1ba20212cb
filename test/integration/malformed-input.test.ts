import fc from 'fast-check';
import { generateAgentKey } from '@apps/agent/keys';
import { problemTypeUri } from '@libs/contracts/problem';
import { startK8sIssuer, type K8sIssuer } from '@libs/testing/k8s-issuer';
import { newJoinToken } from '../support/agent';
import { startTestServer, type TestServer } from '../support/server';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const POLICIES = `section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
    - name: pods
      requiredAttestors: [{ type: k8s_psat, config: { clusters: [web] } }]
    - name: vms
      requiredAttestors: [{ type: azure_msi, config: { tenants: [{ id: ${TENANT} }] } }]
`;

/** Every malformed input gets a 4xx problem document: never a 500, never a success. */
describe('malformed input', () => {
  let server: TestServer;
  let issuer: K8sIssuer;
  let csr: string;
  beforeAll(async () => {
    issuer = await startK8sIssuer();
    server = await startTestServer({
      policies: {
        'agents.yaml': POLICIES,
        'clusters.yaml': issuer.clustersDocument([{ name: 'web', audience: 'attestd', inline: true }]),
      },
      // nothing listens there: no request of these tests may reach a real Entra
      env: {
        ATTESTD_AZURE_AUTHORITY_HOST: 'https://127.0.0.1:1',
        ATTESTD_AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://127.0.0.1:1',
      },
    });
    csr = (await generateAgentKey()).csrPem;
  });
  afterAll(async () => {
    await server?.stop();
    await issuer?.close();
  });

  async function expectProblem(response: Response, allowed: number[]): Promise<void> {
    const text = await response.text();
    if (!allowed.includes(response.status)) throw new Error(`unexpected ${response.status}: ${text}`);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(text)).toMatchObject({
      status: response.status,
      code: expect.any(String),
      detail: expect.any(String),
      requestId: expect.any(String),
    });
  }

  async function startLogin(): Promise<string> {
    const started = await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['join_token'] } });
    return ((await started.json()) as { loginId: string }).loginId;
  }

  it('URL errors the router raises before any route are problem documents, in the same bytes as every other', async () => {
    const cases = [
      {
        path: `/v1/agent/login/${'x'.repeat(3000)}/complete`,
        code: 'not_found',
        title: 'Not found',
        status: 404,
        detail: 'no such resource (path parameter too long)',
      },
      {
        path: '/v1/agent/login/%zz/complete',
        code: 'invalid_request',
        title: 'Invalid request',
        status: 400,
        detail: 'malformed URL',
      },
    ] as const;
    for (const { path, code, title, status, detail } of cases) {
      const response = await server.call('POST', path, { body: {} });
      const text = await response.text();
      const { requestId } = JSON.parse(text) as { requestId: string };
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(text).toBe(JSON.stringify({ type: problemTypeUri(code), title, status, code, detail, requestId }));
    }
  });

  it('login start: any JSON value that is not a valid body is a 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (body) => {
        await expectProblem(
          await server.call('POST', '/v1/agent/login', {
            body: JSON.stringify(body),
            headers: { 'content-type': 'application/json' },
          }),
          [400],
        );
      }),
      { numRuns: 60 },
    );
  });

  it('login start: text that is not JSON is a 400, another media type a 415', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1 }).filter((s) => {
          try {
            JSON.parse(s);
            return false;
          } catch {
            return true;
          }
        }),
        async (text) => {
          await expectProblem(
            await server.call('POST', '/v1/agent/login', {
              body: text,
              headers: { 'content-type': 'application/json' },
            }),
            [400],
          );
        },
      ),
      { numRuns: 40 },
    );
    await expectProblem(
      await server.call('POST', '/v1/agent/login', {
        body: 'x',
        headers: { 'content-type': 'application/octet-stream' },
      }),
      [415],
    );
  });

  it('login complete: arbitrary proofs and CSRs never succeed', async () => {
    const { token } = await newJoinToken(server);
    const proof = fc.oneof(
      fc.jsonValue(),
      fc.record({ token: fc.oneof(fc.string(), fc.constant(token)) }, { requiredKeys: [] }),
    );
    const body = fc.oneof(
      fc.record({
        proofs: fc.record({ join_token: proof }),
        csr: fc.oneof(
          fc.string(),
          fc.constant('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'),
        ),
      }),
      fc.record({ proofs: fc.dictionary(fc.string(), fc.jsonValue()), csr: fc.constant(csr) }),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const loginId = await startLogin();
        await expectProblem(
          await server.call('POST', `/v1/agent/login/${loginId}/complete`, { body: value as object }),
          [400, 401, 403, 404],
        );
      }),
      { numRuns: 60 },
    );
  });

  it('login complete: arbitrary login IDs are 404 (or 400)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 300 }), async (loginId) => {
        await expectProblem(
          await server.call('POST', `/v1/agent/login/${encodeURIComponent(loginId)}/complete`, {
            body: { proofs: {}, csr },
          }),
          [400, 404],
        );
      }),
      { numRuns: 60 },
    );
  });

  /** An unsigned JWT whose header names this kid: it fails before any key is used. */
  const unsignedJwt = (kid: string, claims: object = { tid: TENANT }) =>
    [{ alg: 'RS256', kid }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') +
    '.c2lnbmF0dXJl';
  const auditOf = async (requestId: string) => {
    const page = (await (await server.admin('GET', '/v1/audit?limit=50')).json()) as {
      items: { requestId: string; outcome: string; code: string; reason: string }[];
    };
    return page.items.filter((event) => event.requestId === requestId);
  };

  it.each([
    ['k8s_psat', (kid: string) => ({ cluster: 'web', token: unsignedJwt(kid) })],
    ['azure_msi', (kid: string) => ({ token: unsignedJwt(kid) })],
  ])(
    '%s: a kid PostgreSQL cannot store (NUL, a lone surrogate, control characters) is a 401, audited, and uses up the login ID',
    async (attestor, proof) => {
      for (const kid of ['a\u0000b', '\u0000', 'x\ud800', 'key\u0007\u001b[31m']) {
        const started = await server.call('POST', '/v1/agent/login', { body: { providedMethods: [attestor] } });
        const { loginId } = (await started.json()) as { loginId: string };
        const complete = () =>
          server.call('POST', `/v1/agent/login/${loginId}/complete`, {
            body: { proofs: { [attestor]: proof(kid) }, csr },
          });
        const response = await complete();
        const problem = (await response.json()) as { status: number; code: string; detail: string; requestId: string };
        expect(problem).toMatchObject({
          status: 401,
          code: 'attestation_failed',
          detail: `${attestor}: token header has no kid of printable ASCII`,
        });
        expect(await auditOf(problem.requestId)).toEqual([
          expect.objectContaining({ outcome: 'failure', code: 'attestation_failed' }),
        ]);
        expect((await complete()).status).toBe(404);
      }
    },
  );

  it('text PostgreSQL cannot store anywhere in an agent body is a 400 naming its path', async () => {
    for (const [body, path] of [
      [{ providedMethods: ['join_token\u0000'] }, '/providedMethods/0'],
      [{ proofs: { join_token: { token: 'x\u0000y' } }, csr }, '/proofs/join_token/token'],
      [{ proofs: { join_token: { token: 'x\udc00' } }, csr }, '/proofs/join_token/token'],
      [{ proofs: { join_token: { token: 'x', ['k\u0000']: 1 } }, csr }, '/proofs/join_token/k\u0000'],
    ] as const) {
      const url = 'providedMethods' in body ? '/v1/agent/login' : `/v1/agent/login/${await startLogin()}/complete`;
      const response = await server.call('POST', url, { body });
      const problem = (await response.json()) as { status: number; code: string; errors: { path: string }[] };
      expect(problem).toMatchObject({ status: 400, code: 'invalid_request' });
      expect(problem.errors).toContainEqual(expect.objectContaining({ path }));
    }
  });

  it('PUT and validate agree on a document holding text PostgreSQL cannot store: 422 with its line and column', async () => {
    const document = `${POLICIES}      rules: [{ attribute: azure_msi.tenant.id, equals: "a\\0b" }]\n`;
    for (const [method, path] of [
      ['POST', '/v1/config/AgentAttestation/validate'],
      ['PUT', '/v1/config/AgentAttestation'],
    ] as const) {
      const response = await server.call(method, path, {
        token: server.adminToken,
        body: document,
        headers: { 'content-type': 'application/yaml' },
      });
      const problem = (await response.json()) as { status: number; errors: unknown[] };
      expect(problem.status).toBe(422);
      expect(problem.errors).toEqual([
        {
          path: '/spec/policies/2/rules/0/equals',
          line: 11,
          column: 57,
          message: 'must not contain the NUL character (U+0000)',
        },
      ]);
    }
  });

  it('agent bodies over 64 KiB are a 413', async () => {
    const big = { providedMethods: ['join_token'], pad: 'x'.repeat(70 * 1024) };
    await expectProblem(await server.call('POST', '/v1/agent/login', { body: big }), [413]);
  });

  it('configuration documents: arbitrary text is a 422 (or 400), and nothing is stored', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        async (text) => {
          const response = await server.call('PUT', '/v1/config/AgentAttestation', {
            token: server.adminToken,
            body: text,
            headers: { 'content-type': 'application/yaml' },
          });
          await expectProblem(response, [400, 422]);
        },
      ),
      { numRuns: 80 },
    );
    const versions = (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as {
      items: unknown[];
    };
    expect(versions.items).toHaveLength(1);
  });

  it('admin bodies and queries: arbitrary values are a 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue().filter((v) => !(v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)),
        async (body) => {
          await expectProblem(
            await server.admin('POST', '/v1/join-tokens', body === null ? 'null' : (body as object)),
            [400, 415],
          );
        },
      ),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('status', 'limit', 'cursor', 'attestor'),
        fc.string({ minLength: 1 }),
        async (name, value) => {
          const response = await server.admin('GET', `/v1/agents?${name}=${encodeURIComponent(value)}`);
          if (response.status !== 200) await expectProblem(response, [400]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
