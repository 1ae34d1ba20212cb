import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { verifyIidSignature } from './pkcs7';
import { iidDocument, signIid, testSigner, testTrustSet } from './testing/iid-signer';

// A measurement, not a gate (no timed assertion: CI machines vary). It logs
// µs per verification of one IMDS-shaped signature, ours next to pkijs's
// SignedData.verify on the same bytes. pkijs is a dev dependency for this
// comparison only; it finds the signer in the certificate bag, so the
// signature here carries one (ours ignores it).

const ROUNDS = 2000;
const PKIJS_ROUNDS = 200;

describe('verifyIidSignature speed', () => {
  it('logs µs per verify, ours and pkijs', async () => {
    const signer = testSigner('us-east-1');
    const trust = testTrustSet([{ regions: ['us-east-1'], signer }]);
    const document = iidDocument();
    const signature = signIid(document, signer);
    const der = Buffer.from(signature.replace(/\s/g, ''), 'base64');

    for (let i = 0; i < 200; i++) verifyIidSignature(signature, document, trust); // warm-up
    let start = process.hrtime.bigint();
    for (let i = 0; i < ROUNDS; i++) verifyIidSignature(signature, document, trust);
    const ours = Number(process.hrtime.bigint() - start) / 1000 / ROUNDS;

    const pkijsVerify = async (): Promise<boolean> => {
      const contentInfo = new pkijs.ContentInfo({ schema: asn1js.fromBER(der).result });
      const signedData = new pkijs.SignedData({ schema: contentInfo.content });
      return signedData.verify({ signer: 0, checkChain: false });
    };
    expect(await pkijsVerify()).toBe(true);
    for (let i = 0; i < 50; i++) await pkijsVerify();
    const pkijsRounds = PKIJS_ROUNDS;
    start = process.hrtime.bigint();
    for (let i = 0; i < pkijsRounds; i++) await pkijsVerify();
    const theirs = Number(process.hrtime.bigint() - start) / 1000 / pkijsRounds;

    console.log(`aws_iid verify: ours ${ours.toFixed(1)} µs, pkijs SignedData.verify ${theirs.toFixed(1)} µs (${(theirs / ours).toFixed(1)}x), ${der.length}-byte PKCS#7`);
    expect(ours).toBeGreaterThan(0);
  });
});
