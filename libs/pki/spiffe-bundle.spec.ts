import { generateKeyPairSync, X509Certificate, type JsonWebKey } from 'node:crypto';
import { generateCaKey } from './ca';
import { spiffeBundle } from './spiffe-bundle';

const ca = () => generateCaKey('example.org', new Date(), 3600).certificatePem;
const rsaJwk = (kid: string): JsonWebKey => ({
  ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }),
  kid,
  alg: 'RS256',
  use: 'sig',
});

describe('spiffeBundle', () => {
  it('gives each CA certificate as an x509-svid key with its one certificate in x5c and no kid', () => {
    const [first, second] = [ca(), ca()];
    const bundle = spiffeBundle({
      caCertificatesPem: [first, second],
      jwtKeys: [],
      sequence: 3,
      refreshHintSeconds: 60,
    });
    expect(bundle.spiffe_sequence).toBe(3);
    expect(bundle.spiffe_refresh_hint).toBe(60);
    expect(bundle.keys.map((key) => Object.keys(key).sort())).toEqual([
      ['crv', 'kty', 'use', 'x', 'x5c', 'y'],
      ['crv', 'kty', 'use', 'x', 'x5c', 'y'],
    ]);
    expect(
      bundle.keys.map((key) => new X509Certificate(Buffer.from((key.x5c as string[])[0]!, 'base64')).toString()),
    ).toEqual([first, second].map((pem) => new X509Certificate(pem).toString()));
    expect(bundle.keys[0]).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      use: 'x509-svid',
      x: new X509Certificate(first).publicKey.export({ format: 'jwk' }).x,
    });
  });

  it('gives each JWT key as a jwt-svid key with its kid, dropping alg and use: sig', () => {
    const jwk = rsaJwk('k1');
    const bundle = spiffeBundle({ caCertificatesPem: [], jwtKeys: [jwk], sequence: 1, refreshHintSeconds: 1 });
    expect(bundle.keys).toEqual([{ kty: 'RSA', n: jwk.n, e: jwk.e, use: 'jwt-svid', kid: 'k1' }]);
  });

  it('refuses a JWT key without a kid, and a key type it cannot describe', () => {
    expect(() =>
      spiffeBundle({
        caCertificatesPem: [],
        jwtKeys: [{ ...rsaJwk('x'), kid: undefined }],
        sequence: 1,
        refreshHintSeconds: 1,
      }),
    ).toThrow('spiffe bundle: a JWT-SVID key has no kid');
    expect(() =>
      spiffeBundle({
        caCertificatesPem: [],
        jwtKeys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }],
        sequence: 1,
        refreshHintSeconds: 1,
      }),
    ).toThrow('spiffe bundle: unsupported key type oct');
  });
});
