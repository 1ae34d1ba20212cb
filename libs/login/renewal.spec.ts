import { generateKeyPairSync } from 'node:crypto';
import { CompactSign } from 'jose';
import { ApiError } from '@libs/contracts/api-error';
import type { NewAuditEvent } from '@libs/persistence';
import { CertificateAuthority, generateCaKey, VerifiedSvidCache } from '@libs/pki';
import { compileAgentAttestation } from '@libs/policy';
import type { RenewalWrites } from './ports';
import { Renewal } from './renewal';

/** A repository that fails the test if it is called: refusals must happen before any write. */
const untouchable = new Proxy(
  {},
  {
    get: (_t, name) => () => {
      throw new Error(`unexpected repository call ${String(name)}`);
    },
  },
) as RenewalWrites;

describe('renewal against the clock', () => {
  const issuedAt = new Date('2030-01-01T00:00:00Z');
  const made = generateCaKey('example.org', issuedAt, 86_400);
  const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
  const agent = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const svid = ca.issueX509Svid({
    spiffeId: 'spiffe://example.org/agent/a',
    subjectPublicKey: agent.publicKey,
    ttlSeconds: 300,
    now: issuedAt,
  });

  function service(now: Date, audited: NewAuditEvent[], verifiedSvids = new VerifiedSvidCache(16)): Renewal {
    return new Renewal({
      clock: { now: () => now },
      trustAnchors: { bundlePems: () => [ca.bundlePem()] },
      verifiedSvids,
      issuer: ca,
      jwtSigner: { sign: () => Promise.reject(new Error('no JWT-SVID may be signed')) },
      writes: untouchable,
      audit: { append: async (event) => void audited.push(event) },
      activeConfig: { policies: compileAgentAttestation({ policies: [] }, []) },
      observer: { renewed: () => undefined, jwtSvidIssued: () => undefined },
    });
  }

  async function jwtSvidBody(iat: Date, signer = agent.privateKey) {
    const payload = { aud: 'attestd-jwt-svid', iat: Math.floor(iat.getTime() / 1000), jti: 'abcdefghijklmnopq' };
    const pop = await new CompactSign(Buffer.from(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'ES256' })
      .sign(signer);
    return { certChain: svid.chainPem, pop, audience: ['sts.amazonaws.com'] };
  }

  it('refuses an expired certificate with 401, audits it, and writes nothing else', async () => {
    const later = new Date(issuedAt.getTime() + 3600_000);
    const audited: NewAuditEvent[] = [];
    const refused = await service(later, audited)
      .jwtSvid(await jwtSvidBody(later), { requestId: 'r', sourceIp: '127.0.0.1' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({
      code: 'invalid_proof_of_possession',
      detail: expect.stringMatching(/^svid: leaf certificate expired at 2030-01-01T00:05:00/),
    });
    expect(audited).toEqual([
      expect.objectContaining({
        event: 'jwt_svid',
        outcome: 'failure',
        code: 'invalid_proof_of_possession',
        requestId: 'r',
      }),
    ]);
  });

  it('refuses a certificate not valid yet', async () => {
    const earlier = new Date(issuedAt.getTime() - 3600_000);
    const refused = await service(earlier, [])
      .jwtSvid(await jwtSvidBody(earlier), { requestId: 'r', sourceIp: '127.0.0.1' })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'invalid_proof_of_possession' });
  });

  it('remembers a verified chain only once the agent proved it holds the key', async () => {
    const now = new Date(issuedAt.getTime() + 60_000);
    const cache = new VerifiedSvidCache(16);
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const copied = await service(now, [], cache)
      .jwtSvid(await jwtSvidBody(now, stranger), { requestId: 'r', sourceIp: '127.0.0.1' })
      .catch((e: unknown) => e);
    expect(copied).toMatchObject({ code: 'invalid_proof_of_possession' });
    expect(cache.size).toBe(0);
    // the real agent's request gets past the proof (and then fails at this test's signer)
    await service(now, [], cache)
      .jwtSvid(await jwtSvidBody(now), { requestId: 'r', sourceIp: '127.0.0.1' })
      .catch(() => undefined);
    expect(cache.size).toBe(1);
  });

  it('answers malformed bodies with 400 before looking at anything', async () => {
    const refused = await service(issuedAt, [])
      .renew({ certChain: 1 }, { requestId: 'r', sourceIp: '127.0.0.1' })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'invalid_request' });
  });
});
