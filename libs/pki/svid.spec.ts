import { generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { CertificateAuthority, generateCaKey } from './ca';
import { SvidRejected, verifySvidChain } from './svid';
import { fromPem, opensslCa, opensslCsr, opensslSign, toPem } from './testing';

const TD = 'example.org';
const ID = 'spiffe://example.org/agent/join_token/abc';
const HOUR = 3600;
const now = new Date();
const later = (seconds: number): Date => new Date(now.getTime() + seconds * 1000);

const made = generateCaKey(TD, now, 24 * HOUR);
const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
const bundle = [ca.bundlePem()];
const subjectPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const subject = subjectPair.publicKey;
const svid = ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: subject, ttlSeconds: HOUR, now });

// openssl-made leaves start at the real current time (no backdating), so the default is a fresh clock reading.
function rejection(chain: unknown, bundlePems: string[] = bundle, at: Date = new Date()): SvidRejected {
  try {
    verifySvidChain(chain as string, bundlePems, at);
  } catch (error) {
    if (error instanceof SvidRejected) return error;
    throw new Error(`expected SvidRejected, got ${String(error)}`);
  }
  throw new Error('expected SvidRejected, the chain was accepted');
}

/** A leaf for a fresh openssl CSR, signed by openssl with our CA key and the given extensions. */
function offProfileLeaf(extensions: string[], caPem = made.certificatePem, caKey = made.privateKeyPem): string {
  return opensslSign(opensslCsr('P-256').csrPem, caPem, caKey, extensions);
}
const LEAF_BASICS = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];

describe('verifySvidChain', () => {
  it('verifies an SVID the CA issued and returns its identity', () => {
    const verified = verifySvidChain(svid.chainPem, bundle, now);
    expect(verified).toMatchObject({
      spiffeId: ID,
      trustDomain: TD,
      serialHex: svid.serialHex,
      notBefore: svid.notBefore,
      notAfter: svid.notAfter,
    });
    expect(verified.publicKey.equals(subject)).toBe(true);
  });

  it('verifies against a bundle holding several CAs (rotation)', () => {
    const older = generateCaKey(TD, now, HOUR);
    expect(verifySvidChain(svid.chainPem, [older.certificatePem, ...bundle], now).spiffeId).toBe(ID);
    expect(verifySvidChain(svid.chainPem, [older.certificatePem + bundle[0]!], now).spiffeId).toBe(ID);
  });

  it('accepts a chain that also carries its root', () => {
    expect(verifySvidChain(svid.chainPem + bundle[0]!, bundle, now).spiffeId).toBe(ID);
  });

  it('verifies a leaf issued by an intermediate CA that the chain carries', () => {
    const intermediate = opensslCsr('P-256');
    const intermediatePem = opensslSign(intermediate.csrPem, made.certificatePem, made.privateKeyPem, [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,cRLSign',
      `subjectAltName=URI:spiffe://${TD}`,
    ]);
    const leafPem = offProfileLeaf([...LEAF_BASICS, `subjectAltName=URI:${ID}`], intermediatePem, intermediate.keyPem);
    expect(verifySvidChain(leafPem + intermediatePem, bundle, new Date()).spiffeId).toBe(ID);
    expect(rejection(leafPem).message).toBe('svid: chain does not verify against the trust bundle');
  });

  it('verifies an SVID issued by openssl to the SPIFFE profile (not only our own encoder)', () => {
    const leafPem = offProfileLeaf([
      ...LEAF_BASICS,
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=URI:${ID}`,
    ]);
    expect(verifySvidChain(leafPem, bundle, new Date()).spiffeId).toBe(ID);
  });

  it('rejects an expired SVID', () => {
    expect(rejection(svid.chainPem, bundle, later(HOUR + 1)).message).toBe(
      `svid: leaf certificate expired at ${svid.notAfter.toISOString()}`,
    );
  });

  it('rejects an SVID before its notBefore', () => {
    expect(rejection(svid.chainPem, bundle, later(-120)).message).toMatch(
      /^svid: leaf certificate is not valid before/,
    );
  });

  it('rejects when the anchoring bundle CA has expired', () => {
    const shortCa = generateCaKey(TD, new Date(now.getTime() - 23 * HOUR * 1000), 24 * HOUR); // expires in an hour
    const leafPem = offProfileLeaf(
      [...LEAF_BASICS, `subjectAltName=URI:${ID}`],
      shortCa.certificatePem,
      shortCa.privateKeyPem,
    );
    expect(rejection(leafPem, [shortCa.certificatePem], later(2 * HOUR)).message).toMatch(
      /^svid: trust bundle CA expired at/,
    );
  });

  it('rejects an SVID from another CA', () => {
    const other = generateCaKey(TD, now, HOUR);
    expect(rejection(svid.chainPem, [other.certificatePem]).message).toBe(
      'svid: chain does not verify against the trust bundle',
    );
  });

  it('rejects an SVID whose signature was tampered with', () => {
    const der = fromPem(svid.certPem);
    der[der.length - 1]! ^= 0x01;
    expect(rejection(toPem('CERTIFICATE', der)).message).toBe('svid: chain does not verify against the trust bundle');
  });

  it('rejects a chain whose certificates do not link', () => {
    const unrelated = generateCaKey(TD, now, HOUR);
    expect(rejection(svid.chainPem + unrelated.certificatePem, [...bundle, unrelated.certificatePem]).message).toBe(
      'svid: chain certificate 1 is not signed by the next one',
    );
  });

  it('rejects a chain whose second certificate is not a CA', () => {
    expect(rejection(svid.chainPem + svid.chainPem).message).toBe('svid: chain certificate 2 is not a CA');
  });

  it('rejects a leaf with two URI SANs', () => {
    const leafPem = offProfileLeaf([...LEAF_BASICS, `subjectAltName=URI:${ID},URI:spiffe://example.org/other`]);
    expect(rejection(leafPem).message).toBe('svid: leaf must have exactly one URI SAN, found 2');
  });

  it('rejects a leaf without a URI SAN', () => {
    const leafPem = offProfileLeaf([...LEAF_BASICS, 'subjectAltName=DNS:node.example.org']);
    expect(rejection(leafPem).message).toBe('svid: leaf must have exactly one URI SAN, found 0');
  });

  it('rejects a leaf whose URI SAN is not a SPIFFE ID', () => {
    const leafPem = offProfileLeaf([...LEAF_BASICS, 'subjectAltName=URI:https://example.org/agent']);
    expect(rejection(leafPem).message).toMatch(/^svid: URI SAN is not a SPIFFE ID: scheme/);
  });

  it('rejects a leaf in another trust domain', () => {
    const leafPem = offProfileLeaf([...LEAF_BASICS, 'subjectAltName=URI:spiffe://evil.example/agent']);
    expect(rejection(leafPem).message).toBe('svid: SPIFFE ID is in trust domain evil.example, expected example.org');
  });

  it('rejects a leaf naming the bare trust domain', () => {
    const leafPem = offProfileLeaf([...LEAF_BASICS, `subjectAltName=URI:spiffe://${TD}`]);
    expect(rejection(leafPem).message).toBe('svid: SPIFFE ID of a leaf must have a path');
  });

  it('rejects a leaf that is a CA', () => {
    const leafPem = offProfileLeaf(['basicConstraints=critical,CA:TRUE', `subjectAltName=URI:${ID}`]);
    expect(rejection(leafPem).message).toBe('svid: leaf certificate is a CA');
  });

  it('rejects a leaf that may sign certificates', () => {
    const leafPem = offProfileLeaf([
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyCertSign',
      `subjectAltName=URI:${ID}`,
    ]);
    expect(rejection(leafPem).message).toBe('svid: leaf certificate may sign certificates or CRLs');
  });

  it("rejects a chain longer than a CA's pathLenConstraint allows", () => {
    const root = opensslCa('P-256', TD, 'critical,CA:TRUE,pathlen:0');
    const intermediate = opensslCsr('P-256');
    const intermediatePem = opensslSign(intermediate.csrPem, root.certificatePem, root.keyPem, [
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const leafPem = offProfileLeaf([...LEAF_BASICS, `subjectAltName=URI:${ID}`], intermediatePem, intermediate.keyPem);
    expect(rejection(leafPem + intermediatePem, [root.certificatePem]).message).toBe(
      "svid: chain exceeds a CA's pathLenConstraint of 0",
    );
    // the same root may still issue leaves directly
    const direct = offProfileLeaf([...LEAF_BASICS, `subjectAltName=URI:${ID}`], root.certificatePem, root.keyPem);
    expect(verifySvidChain(direct, [root.certificatePem], new Date()).spiffeId).toBe(ID);
  });

  it('rejects a leaf with a critical extension it does not process', () => {
    const leafPem = offProfileLeaf([...LEAF_BASICS, `subjectAltName=URI:${ID}`, '1.2.3.4=critical,ASN1:NULL']);
    expect(rejection(leafPem).message).toBe(
      'svid: chain certificate 1 has a critical extension this verifier does not process',
    );
  });

  it('rejects when the anchoring CA names no trust domain', () => {
    const anonymous = opensslCa('P-256', undefined);
    const leafPem = offProfileLeaf(
      [...LEAF_BASICS, `subjectAltName=URI:${ID}`],
      anonymous.certificatePem,
      anonymous.keyPem,
    );
    expect(rejection(leafPem, [anonymous.certificatePem]).message).toMatch(
      /^svid: the trust bundle CA that anchors the chain names no trust domain/,
    );
  });

  it.each([
    ['empty', ''],
    ['not a string', undefined],
    ['garbage', 'not a certificate'],
    ['a CSR', opensslCsr('P-256').csrPem],
    ['base64 of garbage', '-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n'],
  ])('rejects %s', (_name, input) => {
    rejection(input);
  });

  it('rejects more than 8 certificates', () => {
    expect(rejection(svid.chainPem.repeat(9)).message).toBe('svid: more than 8 certificates');
  });

  it('rejects a chain over 64 KiB before parsing it', () => {
    expect(rejection(svid.chainPem + ' '.repeat(64 * 1024)).message).toBe(
      'svid: certificate chain is larger than 65536 bytes',
    );
  });

  it('throws a plain Error, not SvidRejected, for a malformed bundle (a server fault)', () => {
    expect(() => verifySvidChain(svid.chainPem, ['not pem'], now)).toThrow('svid: trust bundle is not PEM');
    expect(() => verifySvidChain(svid.chainPem, ['not pem'], now)).not.toThrow(SvidRejected);
  });

  it('returns a public key usable to check the agent’s proof of possession', () => {
    const { publicKey } = verifySvidChain(svid.chainPem, bundle, now);
    const proof = sign('sha256', Buffer.from('pop'), subjectPair.privateKey);
    expect(verify('sha256', Buffer.from('pop'), publicKey, proof)).toBe(true);
  });

  describe('on arbitrary input (fuzz)', () => {
    it('only ever throws SvidRejected for arbitrary strings', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 400 }), (text) => void rejection(text)),
        { numRuns: 300 },
      );
    });

    it('only ever throws SvidRejected for arbitrary bytes under the CERTIFICATE label', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 600 }),
          (bytes) => void rejection(toPem('CERTIFICATE', bytes)),
        ),
        {
          numRuns: 300,
        },
      );
    });

    it('rejects every single-byte mutation of a valid SVID, with SvidRejected', () => {
      const der = fromPem(svid.certPem);
      fc.assert(
        fc.property(fc.nat({ max: der.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
          const mutated = Buffer.from(der);
          mutated[at]! ^= xor; // at < der.length
          rejection(toPem('CERTIFICATE', mutated));
        }),
        { numRuns: 300 },
      );
    });
  });
});
