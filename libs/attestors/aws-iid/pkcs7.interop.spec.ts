import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ProofRejected } from '../attestor';
import { verifyIidSignature } from './pkcs7';
import { iidDocument, signIid, signedLayout, testSigner, testTrustSet } from './testing/iid-signer';

// Our PKCS#7 verifier is hand-written (README, "Speed"); pkijs, an
// independent implementation, checks that it agrees on what is a valid
// signature. pkijs finds the signer in the signature's certificate bag, so
// these signatures carry one (ours ignores it and uses the trust set).

async function pkijsVerifies(signatureBase64: string): Promise<boolean> {
  const der = Buffer.from(signatureBase64.replace(/\s/g, ''), 'base64');
  const contentInfo = new pkijs.ContentInfo({ schema: asn1js.fromBER(der).result });
  const signedData = new pkijs.SignedData({ schema: contentInfo.content });
  return signedData.verify({ signer: 0, checkChain: false }).catch(() => false);
}

describe('aws_iid signatures, cross-checked with pkijs', () => {
  const signer = testSigner('us-east-1');
  const trust = testTrustSet([{ regions: ['us-east-1'], signer }]);
  const document = iidDocument();
  const signature = signIid(document, signer);

  it('pkijs verifies the BER signature that ours accepts', async () => {
    expect(verifyIidSignature(signature, document, trust)).toEqual({ region: 'us-east-1' });
    await expect(pkijsVerifies(signature)).resolves.toBe(true);
  });

  it('both refuse the signature once one byte of its signature value changes', async () => {
    const der = Buffer.from(signature.replace(/\s/g, ''), 'base64');
    const { signatureStart } = signedLayout(der);
    der[signatureStart + 10]! ^= 0x01;
    const tampered = der.toString('base64');
    expect(() => verifyIidSignature(tampered, document, trust)).toThrow(ProofRejected);
    await expect(pkijsVerifies(tampered)).resolves.toBe(false);
  });
});
