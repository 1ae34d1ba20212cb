import { generateKeyPairSync } from 'node:crypto';
import { CompactSign } from 'jose';
import pino from 'pino';
import type { AuditRepository, NewAuditEvent, RenewalRepository } from '../../../libs/persistence';
import { CertificateAuthority, generateCaKey } from '../../../libs/pki';
import type { ActiveConfig } from '../config-documents/active-config';
import type { IdentityService } from '../identity/identity.service';
import type { Metrics } from '../telemetry/metrics';
import { ApiError } from '../../../libs/contracts/api-error';
import { RenewalService } from './renewal.service';

/** A repository that fails the test if it is called: refusals must happen before any write. */
const untouchable = new Proxy({}, { get: (_t, name) => () => { throw new Error(`unexpected repository call ${String(name)}`); } }) as RenewalRepository;

describe('renewal against the clock', () => {
  const issuedAt = new Date('2030-01-01T00:00:00Z');
  const made = generateCaKey('example.org', issuedAt, 86_400);
  const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
  const agent = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const svid = ca.issueX509Svid({ spiffeId: 'spiffe://example.org/agent/a', subjectPublicKey: agent.publicKey, ttlSeconds: 300, now: issuedAt });

  function service(now: Date, audited: NewAuditEvent[]): RenewalService {
    const identity = { now: () => now, bundlePems: () => [ca.bundlePem()], bundlePem: () => ca.bundlePem(), ca } as unknown as IdentityService;
    const audit = { append: async (event: NewAuditEvent) => void audited.push(event) } as unknown as AuditRepository;
    const active = { policies: { policies: [] } } as unknown as ActiveConfig;
    const metrics = { count: () => undefined } as unknown as Metrics;
    return new RenewalService(identity, untouchable, audit, active, metrics, pino({ level: 'silent' }));
  }

  async function jwtSvidBody(iat: Date) {
    const payload = { aud: 'attestd-jwt-svid', iat: Math.floor(iat.getTime() / 1000), jti: 'abcdefghijklmnopq' };
    const pop = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256' }).sign(agent.privateKey);
    return { certChain: svid.chainPem, pop, audience: ['sts.amazonaws.com'] };
  }

  it('refuses an expired certificate with 401, audits it, and writes nothing else', async () => {
    const later = new Date(issuedAt.getTime() + 3600_000);
    const audited: NewAuditEvent[] = [];
    const refused = await service(later, audited).jwtSvid(await jwtSvidBody(later), { requestId: 'r', sourceIp: '127.0.0.1' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ code: 'invalid_proof_of_possession', detail: expect.stringMatching(/^svid: leaf certificate expired at 2030-01-01T00:05:00/) });
    expect(audited).toEqual([expect.objectContaining({ event: 'jwt_svid', outcome: 'failure', code: 'invalid_proof_of_possession', requestId: 'r' })]);
  });

  it('refuses a certificate not valid yet', async () => {
    const earlier = new Date(issuedAt.getTime() - 3600_000);
    const refused = await service(earlier, []).jwtSvid(await jwtSvidBody(earlier), { requestId: 'r', sourceIp: '127.0.0.1' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'invalid_proof_of_possession' });
  });

  it('answers malformed bodies with 400 before looking at anything', async () => {
    const refused = await service(issuedAt, []).renew({ certChain: 1 }, { requestId: 'r', sourceIp: '127.0.0.1' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'invalid_request' });
  });
});
