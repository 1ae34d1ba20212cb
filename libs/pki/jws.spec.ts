import { generateKeyPairSync, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { DerError } from './der';
import { derFromP1363, jwsSign, jwsVerifies, p1363FromDer } from './jws';

const keys = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
};
const hashes = { ES256: 'sha256', ES384: 'sha384', RS256: 'sha256' } as const;
const algorithms = ['ES256', 'ES384', 'RS256'] as const;

describe('JWS signatures through node:crypto with bare keys', () => {
  it("signs what node:crypto's own JWS form verifies, and verifies what it signs", () => {
    fc.assert(
      fc.property(fc.constantFrom(...algorithms), fc.uint8Array({ maxLength: 512 }), (alg, bytes) => {
        const input = Buffer.from(bytes);
        const { publicKey, privateKey } = keys[alg];
        const dsaEncoding = alg === 'RS256' ? undefined : 'ieee-p1363';
        const ours = jwsSign(alg, input, privateKey);
        expect(verify(hashes[alg], input, { key: publicKey, dsaEncoding }, ours)).toBe(true);
        const theirs = sign(hashes[alg], input, { key: privateKey, dsaEncoding });
        expect(jwsVerifies(alg, input, publicKey, theirs)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a signature of the wrong length, a changed byte, another key, or another algorithm', () => {
    const input = Buffer.from('header.payload');
    const good = jwsSign('ES256', input, keys.ES256.privateKey);
    expect(jwsVerifies('ES256', input, keys.ES256.publicKey, good)).toBe(true);
    expect(jwsVerifies('ES256', input, keys.ES256.publicKey, good.subarray(1))).toBe(false);
    expect(jwsVerifies('ES256', input, keys.ES256.publicKey, Buffer.concat([good, Buffer.of(0)]))).toBe(false);
    for (let i = 0; i < good.length; i += 7) {
      const changed = Buffer.from(good);
      changed[i] = changed[i]! ^ 0x01;
      expect(jwsVerifies('ES256', input, keys.ES256.publicKey, changed)).toBe(false);
    }
    expect(jwsVerifies('ES256', input, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, good)).toBe(false);
    expect(jwsVerifies('RS256', input, keys.ES256.publicKey, good)).toBe(false);
    expect(jwsVerifies('ES256', input, keys.ES256.publicKey, Buffer.alloc(64))).toBe(false);
  });

  it('converts r||s to DER and back without loss, leading zeros included', () => {
    fc.assert(
      fc.property(fc.constantFrom(32, 48), fc.uint8Array({ minLength: 96, maxLength: 96 }), (half, bytes) => {
        const signature = Buffer.from(bytes.subarray(0, 2 * half));
        signature.fill(0, 0, bytes[95]! % (half + 1)); // r with 0..half leading zero octets
        expect(p1363FromDer(derFromP1363(signature), half)).toEqual(signature);
      }),
    );
  });

  it('reads any bytes as a DER signature or throws DerError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        try {
          expect(p1363FromDer(Buffer.from(bytes), 32)).toHaveLength(64);
        } catch (error) {
          expect(error).toBeInstanceOf(DerError);
        }
      }),
    );
  });
});
