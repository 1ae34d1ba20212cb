import { ProofRejected } from '../attestor';
import { verifyIidSignature } from './pkcs7';
import { iidDocument, signIid, signedLayout, testSigner, testTrustSet } from './testing/iid-signer';
import { verifiesWithPkijs } from './testing/pkijs-verify';

// Our PKCS#7 verifier is hand-written (README, "Speed"); pkijs, an
// independent implementation, checks that it agrees on what is a valid
// signature (ours ignores the signature's certificate bag and uses the trust set).

describe('aws_iid signatures, cross-checked with pkijs', () => {
  const signer = testSigner('us-east-1');
  const trust = testTrustSet([{ regions: ['us-east-1'], signer }]);
  const document = iidDocument();
  const signature = signIid(document, signer);

  it('pkijs verifies the BER signature that ours accepts', async () => {
    expect(verifyIidSignature(signature, document, trust)).toEqual({ region: 'us-east-1' });
    await expect(verifiesWithPkijs(signature)).resolves.toBe(true);
  });

  it('both refuse the signature once one byte of its signature value changes', async () => {
    const der = Buffer.from(signature.replace(/\s/g, ''), 'base64');
    const { signatureStart } = signedLayout(der);
    der[signatureStart + 10]! ^= 0x01;
    const tampered = der.toString('base64');
    expect(() => verifyIidSignature(tampered, document, trust)).toThrow(ProofRejected);
    await expect(verifiesWithPkijs(tampered)).resolves.toBe(false);
  });
});
