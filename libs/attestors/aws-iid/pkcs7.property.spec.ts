import fc from 'fast-check';
import { ProofRejected } from '../attestor';
import { verifyIidSignature } from './pkcs7';
import { iidDocument, signIid, signedLayout, testSigner, testTrustSet } from './testing/iid-signer';

// Hostile input of any shape must end in ProofRejected (a 401), never in
// another error (a 500), and no change to a signed byte may verify.

const signer = testSigner('us-east-1');
const trust = testTrustSet([{ regions: ['us-east-1'], signer }]);
const document = iidDocument();
const signature = signIid(document, signer, { noCerts: true });
const der = Buffer.from(signature.replace(/\s/g, ''), 'base64');

function outcome(signatureBase64: string, text: string): 'verified' | 'rejected' {
  try {
    verifyIidSignature(signatureBase64, text, trust);
    return 'verified';
  } catch (error) {
    if (error instanceof ProofRejected && error.reason.startsWith('aws_iid: ')) return 'rejected';
    throw error;
  }
}

describe('verifyIidSignature properties', () => {
  it('rejects arbitrary strings as signature with ProofRejected only', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 2000 }),
        fc.string({ maxLength: 200 }),
        (sig, text) => outcome(sig, text) === 'rejected',
      ),
      {
        numRuns: 500,
      },
    );
  });

  it('rejects arbitrary bytes, base64-encoded, with ProofRejected only', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 4000 }),
        (bytes) => outcome(Buffer.from(bytes).toString('base64'), document) === 'rejected',
      ),
      {
        numRuns: 500,
      },
    );
  });

  it('never throws anything but ProofRejected for a real signature cut, spliced or with a byte changed', () => {
    const mutated = fc.oneof(
      fc.integer({ min: 0, max: der.length - 1 }).map((n) => der.subarray(0, n)),
      fc.tuple(fc.integer({ min: 0, max: der.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
        const copy = Buffer.from(der);
        copy[at]! ^= xor; // at < der.length
        return copy;
      }),
      fc
        .tuple(fc.integer({ min: 0, max: der.length }), fc.uint8Array({ minLength: 1, maxLength: 16 }))
        .map(([at, bytes]) => Buffer.concat([der.subarray(0, at), bytes, der.subarray(at)])),
    );
    fc.assert(
      fc.property(mutated, (bytes) => ['verified', 'rejected'].includes(outcome(bytes.toString('base64'), document))),
      { numRuns: 1000 },
    );
  });

  it('never verifies when a byte of the content (and the document sent with it), the signed attributes or the signature changes', () => {
    const layout = signedLayout(der);
    const contentAt = der.indexOf(Buffer.from(document, 'utf8'));
    const signedRanges: [number, number][] = [
      [contentAt, contentAt + Buffer.byteLength(document)],
      [layout.attrsStart, layout.attrsEnd],
      [layout.signatureStart, layout.signatureEnd],
    ];
    const signedIndex = fc.constantFrom(...signedRanges).chain(([from, to]) => fc.integer({ min: from, max: to - 1 }));
    fc.assert(
      fc.property(signedIndex, fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const copy = Buffer.from(der);
        copy[at]! ^= xor; // signedIndex is within der
        const inContent = at >= contentAt && at < contentAt + Buffer.byteLength(document);
        // a tampered content goes with the matching tampered document, so the message digest is what catches it
        const sent = inContent
          ? copy.subarray(contentAt, contentAt + Buffer.byteLength(document)).toString('utf8')
          : document;
        return outcome(copy.toString('base64'), sent) === 'rejected';
      }),
      { numRuns: 1000 },
    );
  });
});
