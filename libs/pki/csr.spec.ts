import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { CsrRejected, MAX_CSR_PEM_BYTES, parseCsr } from './csr';
import { fromPem, opensslCsr, toPem } from './testing';

const spkiOf = (keyPem: string): Buffer => createPublicKey(keyPem).export({ type: 'spki', format: 'der' });

async function rejection(pem: unknown): Promise<CsrRejected> {
  try {
    await parseCsr(pem as string);
  } catch (error) {
    if (error instanceof CsrRejected) return error;
    throw new Error(`expected CsrRejected, got ${String(error)}`);
  }
  throw new Error('expected CsrRejected, the CSR was accepted');
}

describe('parseCsr', () => {
  // openssl is slow to start; make each kind of CSR once.
  const p256 = opensslCsr('P-256');
  const p384 = opensslCsr('P-384');
  const rsa2048 = opensslCsr('rsa:2048');

  it.each([
    ['EC P-256', p256, 'ec-p256'],
    ['EC P-384', p384, 'ec-p384'],
    ['RSA 2048', rsa2048, 'rsa-2048'],
  ])('accepts a %s CSR made by openssl and returns its key', async (_name, made, algorithm) => {
    const parsed = await parseCsr(made.csrPem);
    expect(parsed.keyAlgorithm).toBe(algorithm);
    expect(parsed.spki.equals(spkiOf(made.keyPem))).toBe(true);
    expect(parsed.publicKey.type).toBe('public');
    expect(parsed.der.equals(fromPem(made.csrPem))).toBe(true);
  });

  it('accepts CRLF line endings and surrounding whitespace', async () => {
    await expect(parseCsr(`\n  ${p256.csrPem.replace(/\n/g, '\r\n')}  \n`)).resolves.toBeDefined();
  });

  it('accepts a CSR whose requested subject and SANs it then ignores', async () => {
    const made = opensslCsr('P-256', ['-addext', 'subjectAltName=URI:spiffe://evil.example/admin']);
    const parsed = await parseCsr(made.csrPem);
    expect(Object.keys(parsed).sort()).toEqual(['der', 'keyAlgorithm', 'publicKey', 'spki']);
  });

  it('rejects a CSR whose signature was tampered with', async () => {
    const der = fromPem(p256.csrPem);
    der[der.length - 1]! ^= 0x01;
    expect((await rejection(toPem('CERTIFICATE REQUEST', der))).message).toBe('csr: signature does not verify');
  });

  it('rejects a CSR whose signed content was altered (subject changed)', async () => {
    const der = fromPem(rsa2048.csrPem);
    const at = der.indexOf(Buffer.from('ignored.example'));
    der[at] = 'x'.charCodeAt(0);
    expect((await rejection(toPem('CERTIFICATE REQUEST', der))).message).toBe('csr: signature does not verify');
  });

  it('rejects a CSR signed by a different key than the one it carries', async () => {
    const other = opensslCsr('P-256');
    const der = fromPem(p256.csrPem);
    const otherDer = fromPem(other.csrPem);
    // same layout (same subject, same curve): splice in the other CSR's key
    const ownKey = spkiOf(p256.keyPem);
    const at = der.indexOf(ownKey);
    spkiOf(other.keyPem).copy(der, at);
    expect(der.equals(otherDer)).toBe(false);
    expect((await rejection(toPem('CERTIFICATE REQUEST', der))).message).toBe('csr: signature does not verify');
  });

  it('rejects an RSA-1024 key', async () => {
    const made = opensslCsr('rsa:1024');
    expect((await rejection(made.csrPem)).message).toMatch(/^csr: RSA key of 1024 bits is too small/);
  });

  it('rejects an EC P-521 key', async () => {
    expect((await rejection(opensslCsr('P-521').csrPem)).message).toMatch(/^csr: EC curve secp521r1 is not accepted/);
  });

  it('rejects an Ed25519 key', async () => {
    expect((await rejection(opensslCsr('ed25519').csrPem)).message).toMatch(/^csr: key type ed25519 is not accepted/);
  });

  it('rejects a SHA-1 signature', async () => {
    const made = opensslCsr('rsa:2048', ['-sha1']);
    expect((await rejection(made.csrPem)).message).toMatch(/^csr: unsupported signature algorithm/);
  });

  it.each([
    ['empty', ''],
    ['whitespace', '  \n '],
    ['not a string', 42],
    ['garbage text', 'hello, I am a CSR'],
    ['a BEGIN line without END', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n'],
    ['empty body', '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n'],
    ['invalid base64', '-----BEGIN CERTIFICATE REQUEST-----\nAA*A\n-----END CERTIFICATE REQUEST-----\n'],
    [
      'non-canonical base64 (non-zero padding bits)',
      '-----BEGIN CERTIFICATE REQUEST-----\nAB==\n-----END CERTIFICATE REQUEST-----\n',
    ],
    ['mismatched labels', '-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE-----\n'],
    ['base64 of garbage', '-----BEGIN CERTIFICATE REQUEST-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE REQUEST-----\n'],
    ['an empty SEQUENCE', '-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n'],
  ])('rejects %s', async (_name, input) => {
    await rejection(input);
  });

  it('rejects two CSR blocks', async () => {
    expect((await rejection(p256.csrPem + p384.csrPem)).message).toBe('csr: expected exactly one PEM block, found 2');
  });

  it('rejects text around the PEM block', async () => {
    await rejection(`Certificate Request:\n${p256.csrPem}`);
    await rejection(`${p256.csrPem}trailing`);
  });

  it('rejects a certificate instead of a CSR', async () => {
    const certificate = toPem('CERTIFICATE', fromPem(p256.csrPem));
    expect((await rejection(certificate)).message).toBe(
      'csr: expected a "CERTIFICATE REQUEST" PEM block, found "CERTIFICATE"',
    );
  });

  it('rejects input over 16 KiB before parsing it', async () => {
    const padded = p256.csrPem + ' '.repeat(MAX_CSR_PEM_BYTES);
    expect((await rejection(padded)).message).toBe(`csr: larger than ${MAX_CSR_PEM_BYTES} bytes`);
  });

  it('rejects trailing bytes after the DER request', async () => {
    const der = Buffer.concat([fromPem(p256.csrPem), Buffer.from([0x00])]);
    expect((await rejection(toPem('CERTIFICATE REQUEST', der))).message).toMatch(/^csr: malformed DER/);
  });

  it('rejects a CSR whose key is a private key in disguise (PKCS#8 under the CSR label)', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await rejection(toPem('CERTIFICATE REQUEST', privateKey.export({ type: 'pkcs8', format: 'der' })));
  });

  describe('on arbitrary input (fuzz)', () => {
    it('only ever throws CsrRejected for arbitrary strings', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 400 }), async (text) => {
          await rejection(text);
        }),
        { numRuns: 300 },
      );
    });

    it('only ever throws CsrRejected for arbitrary bytes under the CSR label', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), async (bytes) => {
          await rejection(toPem('CERTIFICATE REQUEST', bytes));
        }),
        { numRuns: 300 },
      );
    });

    it('rejects every single-byte mutation of a valid CSR, with CsrRejected', async () => {
      const der = fromPem(p256.csrPem);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: der.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
          const mutated = Buffer.from(der);
          mutated[at]! ^= xor; // at < der.length
          await rejection(toPem('CERTIFICATE REQUEST', mutated));
        }),
        { numRuns: 300 },
      );
    });

    it('only ever throws CsrRejected for truncations of a valid CSR', async () => {
      const der = fromPem(rsa2048.csrPem);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: der.length - 1 }), async (length) => {
          await rejection(toPem('CERTIFICATE REQUEST', der.subarray(0, length || 1)));
        }),
        { numRuns: 200 },
      );
    });
  });
});
