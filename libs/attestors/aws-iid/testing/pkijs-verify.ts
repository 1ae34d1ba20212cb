import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/**
 * Whether pkijs, an independent PKCS#7 implementation, verifies this base64
 * signature: the cross-check of our hand-written verifier (interop spec) and
 * its speed comparison (bench). pkijs finds the signer in the signature's
 * certificate bag, which `signIid` signatures carry.
 */
export async function verifiesWithPkijs(signatureBase64: string): Promise<boolean> {
  const der = Buffer.from(signatureBase64.replace(/\s/g, ''), 'base64');
  try {
    const contentInfo = new pkijs.ContentInfo({ schema: asn1js.fromBER(der).result });
    return await new pkijs.SignedData({ schema: contentInfo.content }).verify({ signer: 0, checkChain: false });
  } catch {
    return false;
  }
}
