import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { generateAgentKey } from '@apps/agent/keys';
import { login, newJoinToken, problemOf } from '../support/agent';
import { fakeNodeAttestor } from '../support/fake-node-attestor';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';
import { temporaryDirectories } from '../support/temp-directories';

const tempDir = temporaryDirectories();

describe('login with a join token', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      policies: { 'lab.yaml': joinTokenPolicy({ template: '/lab/node/{{join_token.id}}', svidTtl: '30m' }) },
      additionalAttestors: [fakeNodeAttestor],
    });
  });
  afterAll(() => server?.stop());

  it('issues an SVID whose only URI SAN is the templated SPIFFE ID and that chains to the bundle', async () => {
    const { id, token } = await newJoinToken(server);
    const key = await generateAgentKey();
    const response = await login(server, { join_token: { token } }, key.csrPem);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      agentId: string;
      spiffeId: string;
      policy: string;
      attributes: object;
      selectors: string[];
      svid: { certChain: string; expiresAt: string };
      bundle: string;
    };
    expect(body).toMatchObject({
      spiffeId: `spiffe://example.org/lab/node/${id}`,
      policy: 'lab',
      attributes: { 'join_token.id': [id] },
      selectors: [`join_token:id:${id}`],
    });
    const leaf = new X509Certificate(body.svid.certChain);
    expect(leaf.subjectAltName).toBe(`URI:spiffe://example.org/lab/node/${id}`);
    expect(leaf.ca).toBe(false);
    const ttlMinutes = (Date.parse(leaf.validTo) - Date.now()) / 60_000;
    expect(ttlMinutes).toBeGreaterThan(28);
    expect(ttlMinutes).toBeLessThanOrEqual(30);
    const bundle = await (await server.call('GET', '/v1/bundle')).text();
    expect(bundle).toBe(body.bundle);
    expect(leaf.verify(new X509Certificate(bundle).publicKey)).toBe(true);
    expect(opensslVerify(bundle, body.svid.certChain)).toMatch(/OK/);
    expect(leaf.publicKey.export({ format: 'der', type: 'spki' })).toEqual(
      Buffer.from(await crypto.subtle.exportKey('spki', key.keyPair.publicKey)),
    );
  });

  it('refuses a token that was already used', async () => {
    const { token } = await newJoinToken(server);
    expect((await login(server, { join_token: { token } })).status).toBe(200);
    const again = await problemOf(await login(server, { join_token: { token } }));
    expect(again).toMatchObject({ status: 401, code: 'attestation_failed', contentType: 'application/problem+json' });
    expect(again.detail).toBe('join_token: token is unknown, expired or already used');
  });

  it('refuses an unknown token and never echoes it', async () => {
    const secret = 'not-a-real-token-0123456789';
    const response = await login(server, { join_token: { token: secret } });
    const text = await response.text();
    expect(response.status).toBe(401);
    expect(text).not.toContain(secret);
  });

  it('lets exactly one of 50 concurrent completions with one token succeed', async () => {
    const { token } = await newJoinToken(server);
    const csr = (await generateAgentKey()).csrPem;
    const results = await Promise.all(Array.from({ length: 50 }, () => login(server, { join_token: { token } }, csr)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 401 || s === 409)).toBe(true);
  });

  it('completes a login ID at most once', async () => {
    const { token } = await newJoinToken(server);
    const started = (await (
      await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['join_token'] } })
    ).json()) as { loginId: string };
    const complete = async () =>
      server.call('POST', `/v1/agent/login/${started.loginId}/complete`, {
        body: { proofs: { join_token: { token } }, csr: (await generateAgentKey()).csrPem },
      });
    expect((await complete()).status).toBe(200);
    expect(await problemOf(await complete())).toMatchObject({ status: 404, code: 'login_not_found' });
  });

  it('refuses a forged login ID', async () => {
    const started = (await (
      await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['join_token'] } })
    ).json()) as { loginId: string };
    const [body] = started.loginId.split('.');
    const forged = `${body}.${Buffer.alloc(32).toString('base64url')}`;
    const response = await server.call('POST', `/v1/agent/login/${forged}/complete`, {
      body: { proofs: { join_token: { token: 'x' } }, csr: 'x' },
    });
    expect(await problemOf(response)).toMatchObject({ status: 404, code: 'login_not_found' });
  });

  it("answers start with the candidates' required attestors and no challenge for join tokens", async () => {
    const response = await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['join_token'] } });
    expect(await response.json()).toEqual({
      loginId: expect.any(String),
      expiresAt: expect.any(String),
      requiredAttestors: ['join_token'],
      challenges: {},
    });
  });

  it('refuses methods no policy takes, with the exact detail, and audits it', async () => {
    const problem = await problemOf(
      await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['test_node'] } }),
    );
    expect(problem).toMatchObject({
      status: 403,
      code: 'no_policy_for_methods',
      detail: 'no cluster policy authorizes the provided attestors',
    });
    const audit = (await (await server.admin('GET', '/v1/audit?outcome=failure&attestor=test_node')).json()) as {
      items: { code: string }[];
    };
    expect(audit.items[0]).toMatchObject({ code: 'no_policy_for_methods' });
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        msg: 'no cluster policy authorizes the provided attestors',
        providedMethods: ['test_node'],
      }),
    );
  });

  it('refuses attestor names it does not know with 400', async () => {
    expect(
      await problemOf(await server.call('POST', '/v1/agent/login', { body: { providedMethods: ['nope'] } })),
    ).toMatchObject({ status: 400, code: 'invalid_request' });
  });
});

function opensslVerify(bundle: string, chain: string): string {
  const dir = tempDir('svid-');
  writeFileSync(join(dir, 'bundle.pem'), bundle);
  writeFileSync(join(dir, 'svid.pem'), chain);
  return execFileSync('openssl', ['verify', '-CAfile', join(dir, 'bundle.pem'), join(dir, 'svid.pem')]).toString();
}
