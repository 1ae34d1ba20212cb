import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { problemOf } from '../support/agent';
import { attest, mint, pop, type Held } from '../support/svid-holder';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';

/** What a relying party (AWS STS) does: discovery, then the JWKS it names, then the token. */
async function verifyAsRelyingParty(server: TestServer, token: string, audience: string) {
  const discovery = (await (await server.call('GET', '/.well-known/openid-configuration')).json()) as {
    issuer: string;
    jwks_uri: string;
  };
  const jwks = createRemoteJWKSet(new URL(`${server.url}/keys`));
  return jwtVerify(token, jwks, { issuer: discovery.issuer, audience });
}

describe('JWT-SVIDs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      policies: { 'lab.yaml': joinTokenPolicy({ template: '/lab/node/{{join_token.id}}' }) },
      env: { ATTESTD_JWT_ISSUER: 'https://oidc.example.org' },
    });
  });
  afterAll(() => server?.stop());

  it('serves OIDC discovery with the configured issuer, the JWKS URI under it and RS256', async () => {
    const response = await server.call('GET', '/.well-known/openid-configuration');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      issuer: 'https://oidc.example.org',
      jwks_uri: 'https://oidc.example.org/keys',
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    const jwks = (await (await server.call('GET', '/keys')).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({
      kty: 'RSA',
      alg: 'RS256',
      use: 'sig',
      kid: expect.any(String),
      n: expect.any(String),
      e: 'AQAB',
    });
    expect(Object.keys(jwks.keys[0]!)).not.toEqual(expect.arrayContaining(['d']));
  });

  it("mints an RS256 token for the agent's SPIFFE ID and the requested audience that verifies against the served JWKS", async () => {
    const held = await attest(server);
    const response = await mint(server, held, ['sts.amazonaws.com']);
    expect(response.status).toBe(200);
    const { token, expiresAt } = (await response.json()) as { token: string; expiresAt: string };
    const { payload, protectedHeader } = await verifyAsRelyingParty(server, token, 'sts.amazonaws.com');
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: expect.any(String) });
    expect(payload).toMatchObject({ iss: 'https://oidc.example.org', sub: held.spiffeId, aud: ['sts.amazonaws.com'] });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(Date.parse(expiresAt)).toBe(payload.exp! * 1000);
    await expect(verifyAsRelyingParty(server, token, 'someone-else')).rejects.toThrow(/aud/);
    const audit = (await (await server.admin('GET', `/v1/audit?agentId=${held.agentId}`)).json()) as {
      items: { event: string; outcome: string }[];
    };
    expect(audit.items[0]).toMatchObject({ event: 'jwt_svid', outcome: 'success' });
    const metrics = await (await server.call('GET', '/metrics')).text();
    // a JWT-SVID made from an X.509-SVID is a mint, not a renewal
    expect(metrics).toMatch(/attestd_svids_issued_total\{kind="jwt",reason="mint"\} [1-9]/);
    expect(metrics).not.toMatch(/attestd_svids_issued_total\{kind="jwt",reason="renew"\}/);
  });

  it('refuses a replayed proof', async () => {
    const held = await attest(server);
    const proof = await pop(held);
    const body = { certChain: held.certChain, pop: proof, audience: ['sts.amazonaws.com'] };
    expect((await server.call('POST', '/v1/agent/jwt-svid', { body })).status).toBe(200);
    expect(await problemOf(await server.call('POST', '/v1/agent/jwt-svid', { body }))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
      detail: expect.stringMatching(/jti was already used/),
    });
  });

  it('refuses a proof made for renewals, and an evicted agent', async () => {
    const held = await attest(server);
    expect(await problemOf(await mint(server, held, ['sts.amazonaws.com'], { aud: 'attestd-renew' }))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
    });
    // the server now remembers this SVID's chain as verified; the eviction must still count
    expect((await mint(server, held)).status).toBe(200);
    await server.admin('POST', `/v1/agents/${held.agentId}/evict`);
    expect(await problemOf(await mint(server, held))).toMatchObject({ status: 403, code: 'agent_evicted' });
  });

  it('never answers a malformed body with a 500 or a success', async () => {
    const held = await attest(server);
    const text = fc.oneof(fc.string(), fc.constant(held.certChain));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.record({ certChain: text, pop: fc.string(), audience: fc.anything() }, { requiredKeys: [] }),
        ),
        async (candidate) => {
          const response = await server.call('POST', '/v1/agent/jwt-svid', {
            body: JSON.stringify(candidate) ?? 'null',
            headers: { 'content-type': 'application/json' },
          });
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('JWT-SVIDs signed with ES256', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      policies: { 'lab.yaml': joinTokenPolicy() },
      env: { ATTESTD_JWT_ALGORITHM: 'ES256', ATTESTD_JWT_SVID_TTL: '2m' },
    });
  });
  afterAll(() => server?.stop());

  it('publishes a P-256 key and signs with it', async () => {
    const discovery = (await (await server.call('GET', '/.well-known/openid-configuration')).json()) as {
      id_token_signing_alg_values_supported: string[];
    };
    expect(discovery.id_token_signing_alg_values_supported).toEqual(['ES256']);
    const held = await attest(server);
    const { token } = (await (await mint(server, held, ['a', 'b'])).json()) as { token: string };
    const { payload, protectedHeader } = await verifyAsRelyingParty(server, token, 'b');
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: held.spiffeId, aud: ['a', 'b'] });
    expect(payload.exp! - payload.iat!).toBe(120);
  });
});

describe('signing-key rotation', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A rotation every 20 s: the next keys are published about 10 s after
    // the keys are first made (early in start) and sign from 20 s; a retired
    // JWT key leaves the JWKS 3 s later. The CA signs for 20 s of its 2 minutes.
    server = await startTestServer({
      policies: { 'lab.yaml': joinTokenPolicy() },
      env: {
        ATTESTD_CA_TTL: '2m',
        ATTESTD_CA_ROTATION: '20s',
        ATTESTD_JWT_KEY_ROTATION: '20s',
        ATTESTD_JWT_SVID_TTL: '3s',
      },
    });
  });
  afterAll(() => server?.stop());

  const bundle = async () =>
    (await (await server.call('GET', '/v1/bundle')).text()).match(
      /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g,
    ) ?? [];
  const kids = async () =>
    ((await (await server.call('GET', '/keys')).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const kidOf = async (held: Held) =>
    decodeProtectedHeader(((await (await mint(server, held)).json()) as { token: string }).token).kid;
  async function until(check: () => Promise<boolean>, seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not within ${seconds} s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('publishes the next CA and JWT key before they sign, and keeps the previous JWT key until its tokens expired', async () => {
    const [firstCa] = await bundle();
    const [firstKid] = await kids();
    const held = await attest(server);
    expect(await kidOf(held)).toBe(firstKid);

    // published, not signing yet
    await until(async () => (await kids()).length === 2 && (await bundle()).length === 2, 15);
    const [currentKid, nextKid] = await kids();
    expect(currentKid).toBe(firstKid);
    expect(await kidOf(held)).toBe(firstKid);
    const [, nextCa] = await bundle();
    const stillFirst = await attest(server);
    expect(new X509Certificate(stillFirst.certChain).verify(new X509Certificate(firstCa!).publicKey)).toBe(true);

    // signing; the previous ones still published
    await until(async () => (await kidOf(held)) === nextKid, 15);
    expect(await kids()).toEqual(expect.arrayContaining([firstKid, nextKid]));
    const afterRotation = await attest(server);
    expect(new X509Certificate(afterRotation.certChain).verify(new X509Certificate(nextCa!).publicKey)).toBe(true);
    expect(await bundle()).toEqual(expect.arrayContaining([firstCa, nextCa]));

    // the first JWT key goes once every token it signed has expired; the first CA stays while its SVIDs may be valid
    await until(async () => !(await kids()).includes(firstKid!), 6);
    expect(await bundle()).toContain(firstCa);
  }, 180_000);
});
