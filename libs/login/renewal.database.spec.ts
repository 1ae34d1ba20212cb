import 'reflect-metadata'; // @peculiar/x509 (the CSR maker here) needs it loaded first
import { randomBytes, randomUUID, webcrypto, X509Certificate } from 'node:crypto';
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509';
import { CompactSign } from 'jose';
import { builtInDescriptors } from '@libs/attestors/catalog';
import { ApiError } from '@libs/contracts/api-error';
import { AgentsRepository, AuditRepository, recordLogin, RenewalRepository, type Database } from '@libs/persistence';
import { BACKDATE_SECONDS, CertificateAuthority, generateCaKey, parseCsr, VerifiedSvidCache } from '@libs/pki';
import { compileAgentAttestation, type CompiledPolicySet } from '@libs/policy';
import { createTestDatabase, type TestDatabase } from '@test/support/database';
import { csrSha256 } from './proof-of-possession';
import { Renewal } from './renewal';

// Renewal on a real database: what the agent gets (the certificate) against
// what the server keeps (the agent row, the audit), and how many statements
// it took. The policy's svidTtl is learnt from the write itself, so the
// expiry the write records is a guess, corrected when it was wrong.

/** The one policy agents log in with, at `svidTtlSeconds`; none when undefined (the policy was deleted). */
function policies(svidTtlSeconds?: number): CompiledPolicySet {
  const p = { name: 'p', requiredAttestors: [{ type: 'join_token' }], svidTtl: `${svidTtlSeconds}s` };
  return compileAgentAttestation({ policies: svidTtlSeconds === undefined ? [] : [p] }, builtInDescriptors());
}

async function keyAndCsr(): Promise<{ key: webcrypto.CryptoKey; csr: string }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await Pkcs10CertificateRequestGenerator.create(
    { keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } },
    webcrypto,
  );
  return { key: keys.privateKey, csr: csr.toString('pem') };
}

/** An agent as it holds its SVID. */
interface Held {
  agentId: string;
  certChain: string;
  key: webcrypto.CryptoKey;
}

describe('Renewal on the agent row', () => {
  let t: TestDatabase;
  let statements = 0;
  const made = generateCaKey('example.org', new Date(), 86_400);
  const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
  const active = { policies: policies(1200) };
  let renewal: Renewal;

  beforeAll(async () => {
    t = await createTestDatabase();
    const counted = {
      runHot: <Row>(statement: Parameters<Database['runHot']>[0]) => {
        statements++;
        return t.db.runHot<Row>(statement);
      },
    };
    renewal = new Renewal({
      clock: { now: () => new Date() },
      trustAnchors: { bundlePems: () => [ca.bundlePem()] },
      verifiedSvids: new VerifiedSvidCache(16),
      issuer: ca,
      jwtSigner: { sign: () => Promise.reject(new Error('no JWT-SVID may be signed')) },
      writes: new RenewalRepository(counted),
      audit: new AuditRepository(t.db.prisma),
      activeConfig: active,
      observer: { renewed: () => undefined, jwtSvidIssued: () => undefined },
    });
  });
  afterAll(() => t?.drop());
  beforeEach(() => {
    statements = 0;
    active.policies = policies(1200);
  });

  /** A logged-in agent of policy `p` whose SVID was issued for `ttlSeconds`. */
  async function agent(ttlSeconds = 1200): Promise<Held> {
    const { key, csr } = await keyAndCsr();
    const agentId = randomUUID();
    const spiffeId = `spiffe://example.org/agent/${agentId}`;
    const svid = ca.issueX509Svid({
      spiffeId,
      subjectPublicKey: (await parseCsr(csr)).publicKey,
      ttlSeconds,
      now: new Date(),
    });
    const written = await recordLogin(t.db, {
      loginNonce: randomUUID(),
      loginExpiresAt: new Date(Date.now() + 300_000),
      agentId,
      spiffeId,
      policy: 'p',
      attestorTypes: ['join_token'],
      attributes: {},
      selectors: [],
      tofuKeys: [],
      tofu: true,
      svidSerial: svid.serialHex,
      svidExpiresAt: svid.notAfter,
    });
    expect(written).toEqual({ outcome: 'recorded' });
    return { agentId, certChain: svid.chainPem, key };
  }

  /** Renews `held` as an agent does (a new key, its CSR bound by the proof); the new SVID, held. */
  async function renew(held: Held, requestId = randomUUID()): Promise<Held & { certificate: X509Certificate }> {
    const { key, csr } = await keyAndCsr();
    const claims = {
      aud: 'attestd-renew',
      iat: Math.floor(Date.now() / 1000),
      jti: randomBytes(16).toString('base64url'),
      csr_sha256: csrSha256((await parseCsr(csr)).der),
    };
    const pop = await new CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'ES256' })
      .sign(held.key);
    const answer = await renewal.renew({ certChain: held.certChain, csr, pop }, { requestId, sourceIp: '127.0.0.1' });
    const certificate = new X509Certificate(answer.svid.certChain);
    expect(certificate.validToDate).toEqual(new Date(answer.svid.expiresAt));
    return { agentId: held.agentId, certChain: answer.svid.certChain, key, certificate };
  }

  const row = (id: string) =>
    t.db.prisma.agent.findUniqueOrThrow({ where: { id }, select: { svidSerial: true, svidExpiresAt: true } });
  /** The certificate's lifetime, less the backdating: the TTL it was issued for. */
  const ttlOf = (certificate: X509Certificate) =>
    (certificate.validToDate.getTime() - certificate.validFromDate.getTime()) / 1000 - BACKDATE_SECONDS;

  it("renews in one statement, recording the certificate's own serial and notAfter", async () => {
    const held = await agent();
    const requestId = randomUUID();
    const renewed = await renew(held, requestId);
    expect(statements).toBe(1);
    expect(ttlOf(renewed.certificate)).toBe(1200);
    const serial = renewed.certificate.serialNumber.toLowerCase();
    expect(await row(held.agentId)).toEqual({ svidSerial: serial, svidExpiresAt: renewed.certificate.validToDate });
    const audited = await t.db.prisma.auditEvent.findMany({ where: { requestId } });
    expect(audited).toEqual([
      expect.objectContaining({
        event: 'renew',
        outcome: 'success',
        agentId: held.agentId,
        reason: `new serial ${serial}`,
      }),
    ]);
  });

  it("gives a renewal after the policy's svidTtl changed the new TTL, in the certificate and the agent row", async () => {
    const held = await agent(1200);
    active.policies = policies(600);
    const renewed = await renew(held);
    expect(ttlOf(renewed.certificate)).toBe(600);
    expect(await row(held.agentId)).toEqual({
      svidSerial: renewed.certificate.serialNumber.toLowerCase(),
      svidExpiresAt: renewed.certificate.validToDate,
    });
    // the write recorded the old lifetime; one more statement set the new one
    expect(statements).toBe(2);

    // the next renewal presents an SVID of the new lifetime: one statement again
    statements = 0;
    const again = await renew(renewed);
    expect(ttlOf(again.certificate)).toBe(600);
    expect((await row(held.agentId)).svidExpiresAt).toEqual(again.certificate.validToDate);
    expect(statements).toBe(1);
  });

  it("keeps the presented SVID's lifetime when the agent's policy was deleted", async () => {
    const held = await agent(900);
    active.policies = policies(undefined);
    const renewed = await renew(held);
    expect(ttlOf(renewed.certificate)).toBe(900);
    expect((await row(held.agentId)).svidExpiresAt).toEqual(renewed.certificate.validToDate);
    expect(statements).toBe(1);
  });

  it.each([
    ['banned', 'ban', 'agent_banned'],
    ['evicted', 'evict', 'agent_evicted'],
  ] as const)(
    'refuses to renew a %s agent with its problem code, audited once, leaving the row as it was',
    async (status, change, code) => {
      const held = await agent();
      const before = await row(held.agentId);
      await new AgentsRepository(t.db.prisma).changeStatus(held.agentId, change, { actor: 'test' });
      const requestId = randomUUID();
      const refused = await renew(held, requestId).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ApiError);
      expect(refused).toMatchObject({ code });
      expect(await row(held.agentId)).toEqual(before);
      const audited = await t.db.prisma.auditEvent.findMany({ where: { requestId } });
      expect(audited).toEqual([
        expect.objectContaining({
          event: 'renew',
          outcome: 'failure',
          code,
          reason: `the agent is ${status}`,
          agentId: held.agentId,
          spiffeId: `spiffe://example.org/agent/${held.agentId}`,
        }),
      ]);
      expect(statements).toBe(1);
    },
  );
});
