import { generateKeyPairSync } from 'node:crypto';
import { verifyIidSignature } from '@libs/attestors/aws-iid/pkcs7';
import { verifiesWithPkijs } from '@libs/attestors/aws-iid/testing/pkijs-verify';
import { IidTrustSet } from '@libs/attestors/aws-iid/trust-set';
import { CertificateAuthority, generateCaKey } from '@libs/pki/ca';
import { canonicalSpki } from '@libs/pki/spki';
import { measureAsync, measureSync } from './rules';

// The machine's ceiling for one login's work, each part measured alone on
// one core in this process: the aws_iid signature check and the SVID
// signature, as the server runs them. The HTTP and database parts are
// measured against their own servers (main.ts).

export function iidVerifyRate(document: string, signature: string, certificatePem: string, seconds: number): number {
  const trust = IidTrustSet.build({ replaceBuiltIn: true, certificates: [{ regions: ['*'], pem: certificatePem }] });
  return measureSync(() => verifyIidSignature(signature, document, trust).region.length > 0, seconds);
}

export function svidSignRate(seconds: number): number {
  const now = new Date();
  const generated = generateCaKey('example.org', now, 86_400);
  const ca = new CertificateAuthority({
    certificatePem: generated.certificatePem,
    privateKey: generated.privateKeyPem,
  });
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // as the server's CSR parse does, so issuance reuses the bytes read rather than exporting the key
  canonicalSpki(publicKey, publicKey.export({ type: 'spki', format: 'der' }));
  let n = 0;
  return measureSync(() => {
    const svid = ca.issueX509Svid({
      spiffeId: `spiffe://example.org/agent/aws_iid/111111111111/us-east-1/i-${(n++).toString(16).padStart(17, '0')}`,
      subjectPublicKey: publicKey,
      ttlSeconds: 3600,
      now,
    });
    return svid.certPem.length > 0;
  }, seconds);
}

export interface Ceiling {
  iidVerifyPerSecond: number;
  svidSignPerSecond: number;
  loginWritePerSecond: number;
  /** bare Fastify round trips per second, same load generator */
  fastifyRoundTripPerSecond: number;
  /** logins per second if a login cost only these parts: two round trips, one verify, one signature, one write */
  loginsPerSecond: number;
}

/**
 * One login = 2 HTTP round trips + 1 IID verify + 1 SVID signature + 1
 * login write. Each rate was measured with one core doing that part (the
 * round trips with the load generator on the other core, as in the login
 * run), so their costs add: the ceiling is the harmonic combination.
 */
export function combineCeiling(parts: Omit<Ceiling, 'loginsPerSecond'>): Ceiling {
  const secondsPerLogin =
    2 / parts.fastifyRoundTripPerSecond +
    1 / parts.iidVerifyPerSecond +
    1 / parts.svidSignPerSecond +
    1 / parts.loginWritePerSecond;
  return { ...parts, loginsPerSecond: 1 / secondsPerLogin };
}

/**
 * pkijs's `SignedData.verify` on the signature `iidVerifyRate` measures, for
 * the comparison that is the reason our verifier is hand-written
 * (`libs/attestors/aws-iid/README.md`, "Speed").
 */
export function pkijsVerifyRate(signature: string, seconds: number): Promise<number> {
  return measureAsync(() => verifiesWithPkijs(signature), seconds);
}
