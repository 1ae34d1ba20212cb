import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { keyDetailsOf } from './spki';

function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** the same P-256 key with its point compressed: valid SPKI, not the canonical layout */
function compressedP256(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  const y = Buffer.from(jwk.y!, 'base64url');
  const prefix = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
  return Buffer.concat([prefix, Buffer.from([0x02 + (y[31]! & 1)]), x]);
}

describe('keyDetailsOf', () => {
  it.each([
    ['P-256', { namedCurve: 'P-256' }, 'prime256v1'],
    ['P-384', { namedCurve: 'P-384' }, 'secp384r1'],
  ] as const)('names the curve of a canonical %s SPKI as OpenSSL does', (_name, options, curve) => {
    const der = spkiDer(generateKeyPairSync('ec', options).publicKey);
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    expect(keyDetailsOf(key, der)).toMatchObject({ type: 'ec', namedCurve: curve });
    expect(createPublicKey({ key: der, format: 'der', type: 'spki' }).asymmetricKeyDetails?.namedCurve).toBe(curve);
  });

  it('reads a canonical SPKI without asking OpenSSL, and remembers the answer per key', () => {
    const der = spkiDer(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    const asked = jest.spyOn(key, 'asymmetricKeyDetails', 'get');
    expect(keyDetailsOf(key, der).namedCurve).toBe('prime256v1');
    expect(keyDetailsOf(key).namedCurve).toBe('prime256v1');
    expect(asked).not.toHaveBeenCalled();
  });

  it('asks OpenSSL when the SPKI is not in the canonical layout, or not given', () => {
    const raw = compressedP256(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    const key = createPublicKey({ key: raw, format: 'der', type: 'spki' });
    expect(keyDetailsOf(key, raw)).toMatchObject({ type: 'ec', namedCurve: 'prime256v1' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(keyDetailsOf(rsa)).toMatchObject({ type: 'rsa', modulusLength: 2048 });
  });

  it('does not take a P-384 prefix for P-256 or the other way round', () => {
    const p384 = spkiDer(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
    const key = createPublicKey({ key: p384, format: 'der', type: 'spki' });
    expect(keyDetailsOf(key, p384.subarray(0, 91)).namedCurve).toBe('secp384r1');
  });
});
