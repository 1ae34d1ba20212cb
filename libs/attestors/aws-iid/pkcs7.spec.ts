import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_SIGNATURE_BASE64, verifyIidSignature } from './pkcs7';
import { IidTrustSet } from './trust-set';
import {
  iidDocument,
  resignAttributes,
  sha256,
  signedLayout,
  signIid,
  testSigner,
  testTrustSet,
  withContentTypeAttribute,
  withMessageDigest,
  wrap64,
} from './testing/iid-signer';
import { rejectionReason } from '../testing/rejection';

// Step 1 of aws_iid, one test per branch. Signatures come from openssl
// (testing/iid-signer.ts) with keys made at run time, and from two real

const east = () => testSigner('us-east-1');
const west = () => testSigner('eu-west-1');
const trust = () =>
  testTrustSet([
    { regions: ['us-east-1'], signer: east() },
    { regions: ['eu-west-1'], signer: west() },
  ]);

describe('verifyIidSignature: documents that verify', () => {
  it('verifies content inside the signature (openssl -stream -nodetach, BER with indefinite lengths)', () => {
    const document = iidDocument();
    const signature = signIid(document, east(), { noCerts: true });
    // 30 80: the outer SEQUENCE has an indefinite length, as AWS's does
    expect(Buffer.from(signature.replace(/\s/g, ''), 'base64').subarray(0, 2)).toEqual(Buffer.from([0x30, 0x80]));
    expect(verifyIidSignature(signature, document, trust())).toEqual({ region: 'us-east-1' });
  });

  it('verifies a detached signature over the document sent', () => {
    const document = iidDocument({ region: 'eu-west-1' });
    expect(verifyIidSignature(signIid(document, west(), { detached: true }), document, trust())).toEqual({
      region: 'eu-west-1',
    });
  });

  it('verifies a signature without signed attributes (-noattr) over the content itself', () => {
    const document = iidDocument();
    expect(verifyIidSignature(signIid(document, east(), { noAttributes: true }), document, trust())).toEqual({
      region: 'us-east-1',
    });
  });

  it('verifies a detached signature without signed attributes', () => {
    const document = iidDocument();
    expect(
      verifyIidSignature(signIid(document, east(), { noAttributes: true, detached: true }), document, trust()),
    ).toEqual({ region: 'us-east-1' });
  });

  it('accepts the base64 on one line as well as wrapped at 64 columns', () => {
    const document = iidDocument();
    const oneLine = signIid(document, east()).replace(/\n/g, '');
    expect(verifyIidSignature(oneLine, document, trust())).toEqual({ region: 'us-east-1' });
  });
});

describe('verifyIidSignature: rejections', () => {
  it('rejects tampered content: the messageDigest no longer matches', () => {
    const document = iidDocument();
    const der = Buffer.from(signIid(document, east()).replace(/\s/g, ''), 'base64');
    const tamperedDocument = document.replace('123456789012', '999999999999');
    const at = der.indexOf('123456789012');
    der.write('999999999999', at);
    expect(rejectionReason(() => verifyIidSignature(der.toString('base64'), tamperedDocument, trust()))).toBe(
      'aws_iid: signed attributes: messageDigest does not match the SHA-256 of the content',
    );
  });

  it('rejects tampered content without signed attributes: the signature does not verify', () => {
    const document = iidDocument();
    const der = Buffer.from(signIid(document, east(), { noAttributes: true }).replace(/\s/g, ''), 'base64');
    der.write('999999999999', der.indexOf('123456789012'));
    const tamperedDocument = document.replace('123456789012', '999999999999');
    expect(rejectionReason(() => verifyIidSignature(der.toString('base64'), tamperedDocument, trust()))).toBe(
      'aws_iid: signature does not verify against the certificate for region us-east-1',
    );
  });

  it('rejects a document sent that differs from the content inside', () => {
    const signature = signIid(iidDocument(), east());
    const other = iidDocument({ instanceId: 'i-0fffffffffffffff0' });
    expect(rejectionReason(() => verifyIidSignature(signature, other, trust()))).toBe(
      'aws_iid: document sent differs from the content inside the signature',
    );
  });

  it('rejects a detached signature with another document sent', () => {
    const signature = signIid(iidDocument(), east(), { detached: true });
    const other = iidDocument({ instanceId: 'i-0fffffffffffffff0' });
    expect(rejectionReason(() => verifyIidSignature(signature, other, trust()))).toBe(
      'aws_iid: signed attributes: messageDigest does not match the SHA-256 of the content',
    );
  });

  it('rejects another key whose certificate has the same subject as the trusted one', () => {
    const impostor = testSigner('impostor'); // same AWS subject, its own key
    const document = iidDocument();
    expect(rejectionReason(() => verifyIidSignature(signIid(document, impostor), document, trust()))).toBe(
      'aws_iid: signature does not verify against the certificate for region us-east-1',
    );
  });

  it('rejects another key even with the real AWS certificate in the bag and its issuer and serial as signer id', () => {
    const realPem = readFileSync(join(__dirname, 'certs', 'us-east-1.rsa2048.pem'), 'utf8');
    const forger = testSigner('forger', { serial: '0xB169CC401559A419' });
    const document = iidDocument();
    const signature = signIid(document, forger, { noCerts: true, extraCertificatesPem: realPem });
    expect(
      Buffer.from(signature.replace(/\s/g, ''), 'base64').includes(Buffer.from(realPem.split('\n')[5]!, 'base64')),
    ).toBe(true);
    expect(rejectionReason(() => verifyIidSignature(signature, document, IidTrustSet.builtIn()))).toBe(
      'aws_iid: signature does not verify against the certificate for region us-east-1',
    );
  });

  it('rejects a SHA-1 digest with a reason that says so', () => {
    const document = iidDocument();
    expect(
      rejectionReason(() => verifyIidSignature(signIid(document, east(), { digest: 'sha1' }), document, trust())),
    ).toBe('aws_iid: digest algorithm SHA-1 is not accepted (SHA-256 only)');
  });

  it('rejects two signers, even when one of them is trusted', () => {
    const document = iidDocument();
    expect(rejectionReason(() => verifyIidSignature(signIid(document, [east(), west()]), document, trust()))).toBe(
      'aws_iid: signature must have exactly one signer, it has 2',
    );
  });

  it('rejects truncated DER', () => {
    const document = iidDocument();
    const der = Buffer.from(signIid(document, east()).replace(/\s/g, ''), 'base64');
    const truncated = der.subarray(0, der.length - 40).toString('base64');
    expect(rejectionReason(() => verifyIidSignature(truncated, document, trust()))).toMatch(
      /^aws_iid: signature is not a valid PKCS#7 SignedData: /,
    );
  });

  it('rejects garbage DER', () => {
    const garbage = Buffer.from('this is not a PKCS#7 structure at all').toString('base64');
    expect(rejectionReason(() => verifyIidSignature(garbage, iidDocument(), trust()))).toMatch(
      /^aws_iid: signature is not a valid PKCS#7 SignedData: /,
    );
  });

  it('rejects trailing bytes after the structure', () => {
    const document = iidDocument();
    const der = Buffer.from(signIid(document, east()).replace(/\s/g, ''), 'base64');
    const padded = Buffer.concat([der, Buffer.from([0x05, 0x00])]).toString('base64');
    expect(rejectionReason(() => verifyIidSignature(padded, document, trust()))).toBe(
      'aws_iid: signature is not a valid PKCS#7 SignedData: trailing bytes after the structure',
    );
  });

  it('rejects an empty signature', () => {
    expect(rejectionReason(() => verifyIidSignature('', iidDocument(), trust()))).toBe('aws_iid: signature is empty');
  });

  it('rejects a signature that is not base64', () => {
    expect(rejectionReason(() => verifyIidSignature('MIAG!!not*base64', iidDocument(), trust()))).toBe(
      'aws_iid: signature is not base64',
    );
  });

  it('rejects a signature longer than the cap before decoding it', () => {
    expect(
      rejectionReason(() => verifyIidSignature('A'.repeat(MAX_SIGNATURE_BASE64 + 4), iidDocument(), trust())),
    ).toBe(`aws_iid: signature is longer than ${MAX_SIGNATURE_BASE64} characters`);
  });

  it("rejects a document signed by region A's key that claims region B", () => {
    const document = iidDocument({ region: 'eu-west-1' });
    expect(rejectionReason(() => verifyIidSignature(signIid(document, east()), document, trust()))).toBe(
      'aws_iid: signature does not verify against the certificate for region eu-west-1',
    );
  });

  it('rejects a region with no trusted certificate', () => {
    const document = iidDocument({ region: 'ap-south-1' });
    expect(rejectionReason(() => verifyIidSignature(signIid(document, east()), document, trust()))).toBe(
      'aws_iid: no trusted certificate for region ap-south-1',
    );
  });

  it('rejects a messageDigest that does not match, even when the attributes are validly signed', () => {
    const document = iidDocument();
    const signature = withMessageDigest(signIid(document, east()), east(), sha256('another document'));
    expect(rejectionReason(() => verifyIidSignature(signature, document, trust()))).toBe(
      'aws_iid: signed attributes: messageDigest does not match the SHA-256 of the content',
    );
  });

  it('accepts the re-signing helper when the digest is left correct (the mismatch test tests what it says)', () => {
    const document = iidDocument();
    const signature = withMessageDigest(signIid(document, east()), east(), sha256(document));
    expect(verifyIidSignature(signature, document, trust())).toEqual({ region: 'us-east-1' });
  });

  it('rejects an encapsulated content type other than id-data', () => {
    const document = iidDocument();
    expect(
      rejectionReason(() =>
        verifyIidSignature(signIid(document, east(), { eContentType: '1.2.840.113549.1.9.16.1.4' }), document, trust()),
      ),
    ).toBe('aws_iid: signature content type 1.2.840.113549.1.9.16.1.4 is not id-data');
  });

  it('rejects a contentType signed attribute other than id-data, even when validly signed', () => {
    const document = iidDocument();
    const signedDataOid = Buffer.from('2a864886f70d010702', 'hex');
    const signature = withContentTypeAttribute(signIid(document, east()), east(), signedDataOid);
    expect(rejectionReason(() => verifyIidSignature(signature, document, trust()))).toBe(
      'aws_iid: signed attributes: contentType 1.2.840.113549.1.7.2 is not id-data',
    );
  });

  it('rejects signed content that is not JSON', () => {
    const document = 'not json';
    expect(rejectionReason(() => verifyIidSignature(signIid(document, east()), document, trust()))).toBe(
      'aws_iid: document is not valid JSON',
    );
  });

  it('rejects signed JSON without a region', () => {
    const document = iidDocument({ region: undefined });
    expect(rejectionReason(() => verifyIidSignature(signIid(document, east()), document, trust()))).toBe(
      'aws_iid: document has no region',
    );
  });

  it('rejects a region that is not shaped like a region name', () => {
    const document = iidDocument({ region: '__proto__' });
    expect(rejectionReason(() => verifyIidSignature(signIid(document, east()), document, trust()))).toBe(
      'aws_iid: document region is not a region name',
    );
  });

  it('rejects a document with a lone surrogate, whose UTF-8 is not the text sent', () => {
    // JSON.stringify would escape it, so the surrogate goes into the text directly
    const document = iidDocument().replace('ami-0abcdef1234567890', 'ami-\ud800');
    const signature = signIid(document, east(), { detached: true }); // openssl signs its UTF-8 (EF BF BD)
    expect(rejectionReason(() => verifyIidSignature(signature, document, trust()))).toBe(
      'aws_iid: document is not well-formed Unicode text',
    );
  });

  it('rejects a document for a region the trust set has no certificate for', () => {
    const document = iidDocument({ region: 'us-west-2' });
    expect(rejectionReason(() => verifyIidSignature(signIid(document, east()), document, trust()))).toBe(
      'aws_iid: no trusted certificate for region us-west-2',
    );
  });

  it('rejects a signature or a document that is not a string', () => {
    const document = iidDocument();
    const signature = signIid(document, east());
    expect(rejectionReason(() => verifyIidSignature(42 as unknown as string, document, trust()))).toBe(
      'aws_iid: signature is not a string',
    );
    expect(rejectionReason(() => verifyIidSignature(signature, 42 as unknown as string, trust()))).toBe(
      'aws_iid: document is not a string',
    );
  });

  // Byte edits of a real signature that still parses and reaches the check
  // named; the attribute edits re-sign the attributes, so the signature is
  // not what refuses them.
  const ATTRIBUTE = (arc: number) => Buffer.from(`06092a864886f70d0109${arc.toString(16).padStart(2, '0')}`, 'hex');
  const SIGNING_TIME = ATTRIBUTE(5);
  const replaced = (der: Buffer, from: Buffer, to: Buffer) => {
    const at = der.indexOf(from);
    if (at < 0) throw new Error(`no ${from.toString('hex')} in the signature`);
    to.copy(der, at);
  };
  const edited = (edit: (der: Buffer) => void, options: { noCerts?: boolean } = {}) => {
    const der = decoded(signIid(iidDocument(), east(), options));
    edit(der);
    return der.toString('base64');
  };
  const reattributed = (edit: (der: Buffer) => void) => resignAttributes(signIid(iidDocument(), east()), east(), edit);
  /**
   * Replaces `remove` bytes at `at` inside the SignerInfo with `insert`,
   * fixing the lengths of the SignerInfo and the SignerInfos SET (both
   * `82 hh ll`); the containers around them are indefinite (openssl -stream).
   */
  const splicedSignerInfo = (der: Buffer, at: number, remove: number, insert: Buffer) => {
    const signerInfo = der.lastIndexOf(Buffer.from('3082', 'hex'), at);
    const spliced = Buffer.concat([der.subarray(0, at), insert, der.subarray(at + remove)]);
    const delta = insert.length - remove;
    for (const header of [signerInfo, signerInfo - 4])
      spliced.writeUInt16BE(spliced.readUInt16BE(header + 2) + delta, header + 2);
    return spliced;
  };
  const RSA_ID = Buffer.from('300d06092a864886f70d0101010500', 'hex');
  const withParameters = (id: Buffer) => Buffer.concat([id.subarray(0, -2), Buffer.from('0400', 'hex')]);
  const decoded = (signature: string) => Buffer.from(signature.replace(/\s/g, ''), 'base64');
  /** openssl writes SHA-256's AlgorithmIdentifier without parameters: the signer's gets an empty OCTET STRING. */
  const withSignerDigestParameters = () => {
    const der = decoded(signIid(iidDocument(), east()));
    const id = Buffer.from('300b0609608648016503040201', 'hex');
    const at = der.lastIndexOf(id);
    return splicedSignerInfo(
      der,
      at,
      id.length,
      Buffer.concat([Buffer.from('300d', 'hex'), id.subarray(2), Buffer.from('0400', 'hex')]),
    ).toString('base64');
  };
  /** The signed attributes' `a0 81 LL` header becomes BER's indefinite `a0 80`, closed by end-of-contents. */
  const withIndefiniteAttributes = () => {
    const der = decoded(signIid(iidDocument(), east()));
    const { attrsStart, attrsEnd } = signedLayout(der);
    if (der[attrsStart + 1] !== 0x81) throw new Error('withIndefiniteAttributes: unexpected layout');
    const closed = splicedSignerInfo(der, attrsEnd, 0, Buffer.from('0000', 'hex'));
    return splicedSignerInfo(closed, attrsStart, 3, Buffer.from('a080', 'hex')).toString('base64');
  };
  it.each<[string, () => string, string]>([
    [
      "a SHA-256 digest algorithm with parameters (the signer's, grown by two bytes)",
      withSignerDigestParameters,
      'aws_iid: digest algorithm SHA-256 has unexpected parameters',
    ],
    [
      'a signature algorithm other than RSA',
      () =>
        edited((der) => replaced(der, RSA_ID, Buffer.from('300d06092a864886f70d0101050500', 'hex')), { noCerts: true }),
      'aws_iid: signature algorithm 1.2.840.113549.1.1.5 is not accepted (RSA with SHA-256 only)',
    ],
    [
      'an RSA signature algorithm with parameters',
      () => edited((der) => replaced(der, RSA_ID, withParameters(RSA_ID)), { noCerts: true }),
      'aws_iid: signature algorithm has unexpected parameters',
    ],
    ['signed attributes in BER', withIndefiniteAttributes, 'aws_iid: signed attributes are not DER encoded'],
    [
      'a second contentType attribute',
      () => reattributed((der) => replaced(der, SIGNING_TIME, ATTRIBUTE(3))),
      'aws_iid: signed attributes: contentType appears twice',
    ],
    [
      'a messageDigest attribute with seven values',
      // signingTime's SET of one 13-byte UTCTime becomes a SET of seven OCTET STRINGs, same length
      () =>
        reattributed((der) => {
          const at = der.indexOf(SIGNING_TIME);
          ATTRIBUTE(4).copy(der, at);
          Buffer.from('310f0401000400040004000400040004000400', 'hex').copy(der, at + SIGNING_TIME.length);
        }),
      'aws_iid: signed attributes: messageDigest must have exactly one value',
    ],
    [
      'no contentType attribute',
      () => edited((der) => replaced(der, ATTRIBUTE(3), ATTRIBUTE(6))),
      'aws_iid: signed attributes: contentType is missing',
    ],
    [
      'no messageDigest attribute',
      () => reattributed((der) => replaced(der, ATTRIBUTE(4), ATTRIBUTE(6))),
      'aws_iid: signed attributes: messageDigest is missing',
    ],
  ])('rejects %s', (_name, signature, reason) => {
    expect(rejectionReason(() => verifyIidSignature(signature(), iidDocument(), trust()))).toBe(reason);
  });

  it('keeps the wrapped base64 helper honest (64 columns, no trailing newline)', () => {
    expect(wrap64('A'.repeat(130))).toBe(`${'A'.repeat(64)}\n${'A'.repeat(64)}\nAA`);
  });
});

describe('verifyIidSignature with an AwsIidCertificates section', () => {
  // Stands in for the shipped certificates: a test key "built in" for us-west-2.
  const builtIn = () => new Map([['us-west-2', new X509Certificate(testSigner('us-west-2').certificatePem)]]);
  const western = () => iidDocument({ region: 'us-west-2' });

  it('trusts a certificate the section adds for a region, next to the built-ins', () => {
    const added = IidTrustSet.build(
      { replaceBuiltIn: false, certificates: [{ regions: ['us-east-1'], pem: east().certificatePem }] },
      builtIn(),
    );
    const document = iidDocument();
    expect(verifyIidSignature(signIid(document, east()), document, added)).toEqual({ region: 'us-east-1' });
    expect(verifyIidSignature(signIid(western(), testSigner('us-west-2')), western(), added)).toEqual({
      region: 'us-west-2',
    });
  });

  it('stops trusting the built-ins with replaceBuiltIn: true', () => {
    const replaced = IidTrustSet.build(
      { replaceBuiltIn: true, certificates: [{ regions: ['us-east-1'], pem: east().certificatePem }] },
      builtIn(),
    );
    expect(
      rejectionReason(() => verifyIidSignature(signIid(western(), testSigner('us-west-2')), western(), replaced)),
    ).toBe('aws_iid: no trusted certificate for region us-west-2');
  });

  it('trusts a "*" certificate for every region, including ones it has never heard of', () => {
    const wildcard = IidTrustSet.build({
      replaceBuiltIn: false,
      certificates: [{ regions: ['*'], pem: east().certificatePem }],
    });
    for (const region of ['us-east-1', 'eu-west-1', 'xx-future-9']) {
      const document = iidDocument({ region });
      expect(verifyIidSignature(signIid(document, east()), document, wildcard)).toEqual({ region });
    }
  });
});
