import { generateKeyPairSync } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { verifyIidSignature } from '../libs/attestors/aws-iid/pkcs7';
import { iidDocument, signIid, testSigner, testTrustSet } from '../libs/attestors/aws-iid/testing/iid-signer';
import { IidTrustSet } from '../libs/attestors/aws-iid/trust-set';
import { CertificateAuthority, generateCaKey } from '../libs/pki/ca';
import { canonicalSpki } from '../libs/pki/spki';
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
  const ca = new CertificateAuthority({ certificatePem: generated.certificatePem, privateKey: generated.privateKeyPem });
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // as the server's CSR parse does, so issuance reuses the bytes read rather than exporting the key
  canonicalSpki(publicKey, publicKey.export({ type: 'spki', format: 'der' }));
  let n = 0;
  return measureSync(() => {
    const svid = ca.issueX509Svid({ spiffeId: `spiffe://example.org/agent/aws_iid/111111111111/us-east-1/i-${(n++).toString(16).padStart(17, '0')}`, subjectPublicKey: publicKey, ttlSeconds: 3600, now });
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
  const secondsPerLogin = 2 / parts.fastifyRoundTripPerSecond + 1 / parts.iidVerifyPerSecond + 1 / parts.svidSignPerSecond + 1 / parts.loginWritePerSecond;
  return { ...parts, loginsPerSecond: 1 / secondsPerLogin };
}

/**
 * Our hand-written PKCS#7 verifier against pkijs's `SignedData.verify` on
 * the same openssl-made signature (`libs/attestors/aws-iid/README.md`,
 * "Speed"): the reason the verifier is ours. pkijs finds the signer in the
 * signature's certificate bag, which this signature carries.
 */
export async function iidVerifierComparison(seconds: number): Promise<{ oursPerSecond: number; pkijsPerSecond: number; ratio: number }> {
  const signer = testSigner('us-east-1');
  const trust = testTrustSet([{ regions: ['us-east-1'], signer }]);
  const document = iidDocument();
  const signature = signIid(document, signer);
  const der = Buffer.from(signature.replace(/\s/g, ''), 'base64');
  const oursPerSecond = measureSync(() => verifyIidSignature(signature, document, trust).region === 'us-east-1', seconds);
  const pkijsPerSecond = await measureAsync(() => {
    const contentInfo = new pkijs.ContentInfo({ schema: asn1js.fromBER(der).result });
    return new pkijs.SignedData({ schema: contentInfo.content }).verify({ signer: 0, checkChain: false });
  }, seconds);
  return { oursPerSecond, pkijsPerSecond, ratio: oursPerSecond / pkijsPerSecond };
}
