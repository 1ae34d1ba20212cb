import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { LoadedJwtKey } from './jwt-keys';
import { JwtSvidSigner } from './jwt-svid-signer';
import type { RotatingKeys } from './rotating-keys';

const NOW = new Date('2030-01-01T00:00:00Z');
const KEY_NOT_AFTER = new Date('2030-01-01T00:10:00Z');

function signerWith(alg: string, privateKey = newKey(alg)) {
  const key: LoadedJwtKey = { kid: 'kid-1', alg, privateKey, publicJwk: {} };
  const keys = { current: () => ({ key, notAfter: KEY_NOT_AFTER }) } as unknown as RotatingKeys<LoadedJwtKey>;
  return { signer: new JwtSvidSigner(keys, { jwtIssuer: 'https://td.example', jwtSvidTtlSeconds: 300 }), privateKey };
}

function newKey(alg: string) {
  return alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
    : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

describe('the JWT-SVID signer', () => {
  it.each(['ES256', 'RS256'])('signs a %s token that a standard JOSE library verifies', async (alg) => {
    const { signer, privateKey } = signerWith(alg);
    const { token, expiresAt } = await signer.sign({ sub: 'spiffe://td.example/node', aud: ['vault'] }, NOW);
    const { payload } = await jwtVerify(token, createPublicKey(privateKey), {
      algorithms: [alg],
      issuer: 'https://td.example',
      audience: 'vault',
      currentDate: NOW,
    });
    expect(payload).toEqual({
      iss: 'https://td.example',
      sub: 'spiffe://td.example/node',
      aud: ['vault'],
      iat: NOW.getTime() / 1000,
      exp: NOW.getTime() / 1000 + 300,
    });
    expect(decodeProtectedHeader(token)).toEqual({ alg, kid: 'kid-1', typ: 'JWT' });
    expect(expiresAt).toEqual(new Date(NOW.getTime() + 300_000));
  });

  it("caps the token's life at the key's", async () => {
    const { signer } = signerWith('ES256');
    const { expiresAt } = await signer.sign(
      { sub: 'spiffe://td.example/node', aud: ['vault'] },
      new Date(KEY_NOT_AFTER.getTime() - 60_000),
    );
    expect(expiresAt).toEqual(KEY_NOT_AFTER);
  });

  it('refuses to sign with an algorithm it does not implement', async () => {
    const { signer } = signerWith('PS256', newKey('RS256'));
    await expect(signer.sign({ sub: 'spiffe://td.example/node', aud: ['vault'] }, NOW)).rejects.toThrow(
      /cannot sign JWT with PS256/,
    );
  });
});
