import { createHash, randomBytes, X509Certificate, type webcrypto } from 'node:crypto';
import fc from 'fast-check';
import { CompactSign } from 'jose';
import { generateAgentKey, type AgentKey } from '@apps/agent/keys';
import { CertificateAuthority, generateCaKey, parseCsr } from '@libs/pki';
import { login, newJoinToken, problemOf } from '../support/agent';
import { fakeNodeAttestor } from '../support/fake-node-attestor';
import { startTestServer, type TestServer } from '../support/server';

const POLICIES = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
      spiffeIdTemplate: "/lab/node/{{join_token.id}}"
      svidTtl: 30m
    - name: nodes
      requiredAttestors: [{ type: test_node }]
      svidTtl: 20m
`;

interface Held {
  agentId: string;
  spiffeId: string;
  certChain: string;
  key: AgentKey;
}

/** What a PoP JWS says; each field may be overridden by a test. */
interface PopClaims {
  aud?: string;
  iat?: number;
  jti?: string;
  csr_sha256?: string;
}

async function signPop(
  key: webcrypto.CryptoKey,
  claims: PopClaims,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'ES256', ...header })
    .sign(key);
}

function csrHash(csrPem: string): string {
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return createHash('sha256').update(der).digest('base64url');
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const jti = () => randomBytes(16).toString('base64url');

describe('renewing an X.509-SVID', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'lab.yaml': POLICIES }, additionalAttestors: [fakeNodeAttestor] });
  });
  afterAll(() => server?.stop());

  async function attest(): Promise<Held> {
    const { token } = await newJoinToken(server);
    const key = await generateAgentKey();
    const response = await login(server, { join_token: { token } }, key.csrPem);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { agentId: string; spiffeId: string; svid: { certChain: string } };
    return { agentId: body.agentId, spiffeId: body.spiffeId, certChain: body.svid.certChain, key };
  }

  /** A renewal request as the agent makes it, with parts a test may replace. */
  async function renewal(
    held: Held,
    options: {
      claims?: PopClaims;
      signer?: webcrypto.CryptoKey;
      csr?: string;
      popCsr?: string;
      certChain?: string;
    } = {},
  ) {
    const next = await generateAgentKey();
    const csr = options.csr ?? next.csrPem;
    const pop = await signPop(options.signer ?? held.key.keyPair.privateKey, {
      aud: 'attestd-renew',
      iat: nowSeconds(),
      jti: jti(),
      csr_sha256: csrHash(options.popCsr ?? csr),
      ...options.claims,
    });
    return { next, body: { certChain: options.certChain ?? held.certChain, csr, pop } };
  }

  const renew = (body: unknown) => server.call('POST', '/v1/agent/renew', { body });

  it('issues a new SVID with the same SPIFFE ID for the new key, tracks its serial, logs, counts and audits it', async () => {
    const held = await attest();
    const { next, body } = await renewal(held);
    const response = await renew(body);
    expect(response.status).toBe(200);
    const renewed = (await response.json()) as {
      spiffeId: string;
      svid: { certChain: string; expiresAt: string };
      bundle: string;
    };
    expect(renewed.spiffeId).toBe(held.spiffeId);
    const leaf = new X509Certificate(renewed.svid.certChain);
    expect(leaf.subjectAltName).toBe(`URI:${held.spiffeId}`);
    expect(leaf.publicKey.export({ format: 'der', type: 'spki' })).toEqual(
      Buffer.from(await crypto.subtle.exportKey('spki', next.keyPair.publicKey)),
    );
    expect(leaf.verify(new X509Certificate(renewed.bundle).publicKey)).toBe(true);
    expect(leaf.serialNumber.toLowerCase()).not.toBe(new X509Certificate(held.certChain).serialNumber.toLowerCase());

    const agent = (await (await server.admin('GET', `/v1/agents/${held.agentId}`)).json()) as {
      svidSerial: string;
      svidExpiresAt: string;
    };
    expect(agent.svidSerial).toBe(leaf.serialNumber.toLowerCase());
    expect(Date.parse(agent.svidExpiresAt)).toBe(Date.parse(renewed.svid.expiresAt));
    expect(server.logs).toContainEqual(
      expect.objectContaining({ msg: 'SVID renewed', agentId: held.agentId, serial: agent.svidSerial }),
    );
    const audit = (await (await server.admin('GET', `/v1/audit?agentId=${held.agentId}`)).json()) as {
      items: { event: string; outcome: string }[];
    };
    expect(audit.items[0]).toMatchObject({ event: 'renew', outcome: 'success' });
    const metrics = await (await server.call('GET', '/metrics')).text();
    expect(metrics).toMatch(/attestd_svids_issued_total\{kind="x509",reason="renew"\} [1-9]/);

    // the new SVID renews in turn; the one it replaced no longer does
    const again = await renewal({ ...held, certChain: renewed.svid.certChain, key: next });
    expect((await renew(again.body)).status).toBe(200);
    const stale = await renewal(held);
    expect(await problemOf(await renew(stale.body))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
      detail: expect.stringMatching(/not the agent's current SVID/),
    });
  });

  const renewedBy = async (held: Held, response: Response, key: AgentKey): Promise<Held> => ({
    ...held,
    certChain: ((await response.json()) as { svid: { certChain: string } }).svid.certChain,
    key,
  });
  const mintJwt = async (held: Held) =>
    server.call('POST', '/v1/agent/jwt-svid', {
      body: {
        certChain: held.certChain,
        pop: await signPop(held.key.keyPair.privateKey, { aud: 'attestd-jwt-svid', iat: nowSeconds(), jti: jti() }),
        audience: ['vault'],
      },
    });

  it('lets the SVID renewed from renew and mint JWT-SVIDs again until its successor is used, so a lost answer is harmless', async () => {
    const held = await attest();
    const lost = await renewal(held);
    const lostResponse = await renew(lost.body); // committed, but the agent never sees the answer
    expect(lostResponse.status).toBe(200);
    const abandoned = await renewedBy(held, lostResponse, lost.next);

    expect((await mintJwt(held)).status).toBe(200);
    const retry = await renewal(held);
    const retried = await renew(retry.body);
    expect(retried.status).toBe(200);
    const current = await renewedBy(held, retried, retry.next);
    // the answer that was lost is abandoned: its SVID is neither current nor previous
    expect(await problemOf(await renew((await renewal(abandoned)).body))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
    });

    // once the new SVID is used, the one before it is refused
    expect((await mintJwt(current)).status).toBe(200);
    expect(await problemOf(await mintJwt(held))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
      detail: expect.stringMatching(/not the agent's current SVID/),
    });
    expect(await problemOf(await renew((await renewal(held)).body))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
    });
    expect((await renew((await renewal(current)).body)).status).toBe(200);
    const agents = (await (await server.admin('GET', '/v1/agents?limit=500')).json()) as {
      items: { spiffeId: string }[];
    };
    expect(agents.items.filter((a) => a.spiffeId === held.spiffeId)).toHaveLength(1);
  });

  it('leaves one usable successor of ten concurrent renewals of one certificate', async () => {
    const held = await attest();
    const requests = await Promise.all(Array.from({ length: 10 }, () => renewal(held)));
    const responses = await Promise.all(requests.map((r) => renew(r.body)));
    expect(responses.every((r) => r.status === 200 || r.status === 401)).toBe(true);
    const successors = await Promise.all(
      responses.flatMap((response, i) =>
        response.status === 200 ? [renewedBy(held, response, requests[i]!.next)] : [],
      ),
    );
    const usable = [];
    for (const successor of successors)
      if ((await renew((await renewal(successor)).body)).status === 200) usable.push(successor);
    expect(usable).toHaveLength(1);
  });

  it('refuses an evicted agent at once', async () => {
    const held = await attest();
    expect((await server.admin('POST', `/v1/agents/${held.agentId}/evict`)).status).toBe(200);
    const { body } = await renewal(held);
    expect(await problemOf(await renew(body))).toMatchObject({
      status: 403,
      code: 'agent_evicted',
      contentType: 'application/problem+json',
    });
    const audit = (await (await server.admin('GET', `/v1/audit?agentId=${held.agentId}&outcome=failure`)).json()) as {
      items: { event: string; code: string }[];
    };
    expect(audit.items[0]).toMatchObject({ event: 'renew', code: 'agent_evicted' });
  });

  it('refuses a banned agent, and a new login of the same node', async () => {
    const key = await generateAgentKey();
    const proofs = { test_node: { node: `banned-${randomBytes(4).toString('hex')}`, secret: 'let-me-in' } };
    const body = (await (await login(server, proofs, key.csrPem)).json()) as {
      agentId: string;
      spiffeId: string;
      svid: { certChain: string };
    };
    const held = { agentId: body.agentId, spiffeId: body.spiffeId, certChain: body.svid.certChain, key };
    expect((await server.admin('POST', `/v1/agents/${held.agentId}/ban`)).status).toBe(200);
    expect(await problemOf(await renew((await renewal(held)).body))).toMatchObject({
      status: 403,
      code: 'agent_banned',
    });
    expect(await problemOf(await login(server, proofs))).toMatchObject({ status: 403, code: 'agent_banned' });
  });

  it("refuses a certificate from another CA, even for a real agent's SPIFFE ID and key", async () => {
    const held = await attest();
    const made = generateCaKey('example.org', new Date(), 3600);
    const foreign = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
    const subject = await parseCsr(held.key.csrPem);
    const forged = foreign.issueX509Svid({
      spiffeId: held.spiffeId,
      subjectPublicKey: subject.publicKey,
      ttlSeconds: 600,
      now: new Date(),
    });
    const { body } = await renewal(held, { certChain: forged.chainPem });
    expect(await problemOf(await renew(body))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
      detail: expect.stringMatching(/^svid: chain does not verify against the trust bundle/),
    });
  });

  it('refuses a JWS signed by another key', async () => {
    const held = await attest();
    const other = await generateAgentKey();
    const { body } = await renewal(held, { signer: other.keyPair.privateKey });
    expect(await problemOf(await renew(body))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
      detail: 'pop: signature does not verify with the certificate key',
    });
  });

  it('refuses a JWS over another CSR', async () => {
    const held = await attest();
    const other = await generateAgentKey();
    const { body } = await renewal(held, { popCsr: other.csrPem });
    expect(await problemOf(await renew(body))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
      detail: 'pop: csr_sha256 does not match the CSR',
    });
  });

  it('refuses a JWS whose iat is two minutes old', async () => {
    const held = await attest();
    const { body } = await renewal(held, { claims: { iat: nowSeconds() - 120 } });
    expect(await problemOf(await renew(body))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
      detail: expect.stringMatching(/iat is more than 60 s/),
    });
  });

  it('refuses a JWS for another audience, and one that carries its own key', async () => {
    const held = await attest();
    expect(
      await problemOf(await renew((await renewal(held, { claims: { aud: 'attestd-jwt-svid' } })).body)),
    ).toMatchObject({ status: 401, code: 'invalid_proof_of_possession' });
    const jwk = await crypto.subtle.exportKey('jwk', held.key.keyPair.publicKey);
    const next = await generateAgentKey();
    const pop = await signPop(
      held.key.keyPair.privateKey,
      { aud: 'attestd-renew', iat: nowSeconds(), jti: jti(), csr_sha256: csrHash(next.csrPem) },
      { jwk },
    );
    expect(await problemOf(await renew({ certChain: held.certChain, csr: next.csrPem, pop }))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
      detail: expect.stringMatching(/header may hold only/),
    });
  });

  it('refuses a replayed jti, even signed by the renewed key', async () => {
    const held = await attest();
    const used = jti();
    const first = await renewal(held, { claims: { jti: used } });
    const renewed = (await (await renew(first.body)).json()) as { svid: { certChain: string } };
    const replay = await renewal(
      { ...held, certChain: renewed.svid.certChain, key: first.next },
      { claims: { jti: used } },
    );
    expect(await problemOf(await renew(replay.body))).toMatchObject({
      status: 401,
      code: 'invalid_proof_of_possession',
      detail: expect.stringMatching(/jti was already used/),
    });
  });

  it('answers 400 for a malformed CSR and for unknown fields', async () => {
    const held = await attest();
    const { body } = await renewal(held);
    expect(await problemOf(await renew({ ...body, csr: 'not a csr' }))).toMatchObject({
      status: 400,
      code: 'invalid_request',
    });
    expect(await problemOf(await renew({ ...body, extra: 1 }))).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(await problemOf(await renew('{"certChain":'))).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('never answers a malformed body with a 500 or a success', async () => {
    const held = await attest();
    const valid = (await renewal(held)).body;
    const text = fc.oneof(
      fc.string(),
      fc.constant(valid.certChain),
      fc.constant(valid.csr),
      fc.constant(valid.pop),
      fc.string().map((s) => valid.pop.slice(0, 40) + s),
    );
    const field = fc.oneof(text, fc.anything());
    const isValid = (r: Record<string, unknown>) =>
      r.certChain === valid.certChain && r.csr === valid.csr && r.pop === valid.pop;
    const body = fc.oneof(
      fc.anything(),
      fc.record({ certChain: field, csr: field, pop: field }, { requiredKeys: [] }).filter((r) => !isValid(r)),
      fc.record({ certChain: text, csr: text, pop: text }).filter((r) => !isValid(r)),
      // one part of a valid request replaced by noise
      fc.tuple(fc.constantFrom('certChain', 'csr', 'pop'), text).map(([name, value]) => ({
        ...valid,
        [name]: value === valid[name as keyof typeof valid] ? `${value}x` : value,
      })),
    );
    await fc.assert(
      fc.asyncProperty(body, async (candidate) => {
        const response = await server.call('POST', '/v1/agent/renew', {
          body: JSON.stringify(candidate) ?? 'null',
          headers: { 'content-type': 'application/json' },
        });
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
      }),
      { numRuns: 150 },
    );
  });
});
