import fc from 'fast-check';
import { ProofRejected } from '../attestor';
import { BerError, children, readWhole, type Tlv } from './ber';
import { MAX_SIGNATURE_BASE64, verifyIidSignature } from './pkcs7';
import { onThreadCpu } from '@libs/testing/thread-cpu';
import { iidDocument, signIid, testSigner, testTrustSet } from './testing/iid-signer';

// Structure-aware fuzzing of the BER reader and the PKCS#7 verifier above
// it: generated trees of definite and indefinite elements, nested up to and
// beyond the depth cap, and a real signature with wrong lengths written into
// its elements. Every input ends in BerError / ProofRejected, and the slowest
// input stays far inside a robustness bound of CPU time (a blow-up with the
// shape of the input would show here; this is not a benchmark).

const ROBUSTNESS_BOUND_MS = 2_000;
const signer = testSigner('us-east-1');
const trust = testTrustSet([{ regions: ['us-east-1'], signer }]);
const document = iidDocument();
const der = Buffer.from(signIid(document, signer, { noCerts: true }).replace(/\s/g, ''), 'base64');

function lengthOctets(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return [0x80 | bytes.length, ...bytes];
}

/** A BER tree: constructed elements (definite or indefinite) over primitive leaves. */
type Node = { leaf: number[] } | { tag: number; indefinite: boolean; children: Node[] };

function encode(node: Node): number[] {
  if ('leaf' in node) return [0x04, ...lengthOctets(node.leaf.length), ...node.leaf];
  const body = node.children.flatMap(encode);
  return node.indefinite ? [node.tag, 0x80, ...body, 0, 0] : [node.tag, ...lengthOctets(body.length), ...body];
}

const tree: fc.Arbitrary<Node> = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'large', maxDepth: 30 },
    fc.record({ leaf: fc.array(fc.nat({ max: 255 }), { maxLength: 8 }) }),
    fc.record({
      tag: fc.constantFrom(0x30, 0x31, 0xa0, 0x24),
      indefinite: fc.boolean(),
      children: fc.array(tie('node'), { maxLength: 4 }),
    }),
  ),
})).node;

/** A chain of `depth` nested elements around a leaf: the deepest shapes, which a recursive reader pays for most. */
const deepChain = fc.tuple(fc.integer({ min: 1, max: 60 }), fc.boolean()).map(([depth, indefinite]): Node => {
  let node: Node = { leaf: [1] };
  for (let i = 0; i < depth; i++) node = { tag: 0x30, indefinite, children: [node] };
  return node;
});

/** Walks every element the way the verifier does, so nothing in the tree goes unread. */
function walk(buf: Uint8Array, tlv: Tlv, depth = 0): void {
  if (tlv.tag & 0x20) for (const child of children(buf, tlv, depth)) walk(buf, child, depth + 1);
}

function timed(slowest: { ms: number }, run: () => void): void {
  slowest.ms = Math.max(slowest.ms, onThreadCpu(run).cpuMs);
}

describe('BER reader and PKCS#7 verifier under structure-aware fuzzing', () => {
  it('reads or refuses with BerError any generated tree, however deep or wide', () => {
    const slowest = { ms: 0 };
    fc.assert(
      fc.property(fc.oneof(tree, deepChain), (node) => {
        const bytes = Uint8Array.from(encode(node));
        timed(slowest, () => {
          try {
            walk(bytes, readWhole(bytes));
          } catch (error) {
            if (!(error instanceof BerError)) throw error;
          }
        });
      }),
      { numRuns: 400 },
    );
    expect(slowest.ms).toBeLessThan(ROBUSTNESS_BOUND_MS);
  });

  it('answers generated trees and wrong lengths inside a real signature with ProofRejected, never another error', () => {
    const tlvStarts: number[] = [];
    const collect = (tlv: Tlv, depth: number): void => {
      tlvStarts.push(tlv.start);
      if (tlv.tag & 0x20 && tlv.tag !== 0x24) for (const child of children(der, tlv, depth)) collect(child, depth + 1);
    };
    collect(readWhole(der), 0);
    const wrongLength = fc
      .tuple(
        fc.constantFrom(...tlvStarts),
        fc.constantFrom(
          [0x80],
          [0x84, 0xff, 0xff, 0xff, 0xff],
          [0x85, 1, 0, 0, 0, 0],
          [0x00],
          [0x7f],
          [0x81, 0x01],
          [0x82, 0x3f, 0xff],
        ),
      )
      .map(([at, bytes]) => Buffer.concat([der.subarray(0, at + 1), Buffer.from(bytes), der.subarray(at + 2)]));
    // a generated tree spliced in where an element starts
    const spliced = fc
      .tuple(fc.constantFrom(...tlvStarts), tree)
      .map(([at, node]) => Buffer.concat([der.subarray(0, at), Buffer.from(encode(node)), der.subarray(at)]));
    const whole = fc.oneof(tree, deepChain).map((node) => Buffer.from(encode(node)));
    const slowest = { ms: 0 };
    fc.assert(
      fc.property(fc.oneof(wrongLength, spliced, whole), (bytes) => {
        const base64 = bytes.toString('base64');
        fc.pre(base64.length <= MAX_SIGNATURE_BASE64);
        timed(slowest, () => {
          try {
            // bytes outside the signed ranges may change and still verify (pkcs7.property.spec.ts covers the signed ones)
            verifyIidSignature(base64, document, trust);
          } catch (error) {
            if (!(error instanceof ProofRejected)) throw error;
          }
        });
      }),
      { numRuns: 600 },
    );
    expect(slowest.ms).toBeLessThan(ROBUSTNESS_BOUND_MS);
  });
});
