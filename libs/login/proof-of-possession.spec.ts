import { generateKeyPairSync, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { CompactSign } from 'jose';
import {
  algorithmForKey,
  csrSha256,
  PopRejected,
  verifyProofOfPossession,
  type PopExpectations,
} from './proof-of-possession';

const NOW = new Date('2030-01-01T00:00:00Z');
const IAT = NOW.getTime() / 1000;
const CSR = randomBytes(200);
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

const claims = (overrides: Record<string, unknown> = {}) => ({
  aud: 'attestd-renew',
  iat: IAT,
  jti: 'abcdefghijklmnop',
  csr_sha256: csrSha256(CSR),
  ...overrides,
});
const sign = (key: KeyObject, payload: unknown, header: Record<string, unknown> = { alg: 'ES256' }) =>
  new CompactSign(Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)))
    .setProtectedHeader(header as { alg: string })
    .sign(key);
const expected = (overrides: Partial<PopExpectations> = {}): PopExpectations => ({
  publicKey: p256.publicKey,
  audience: 'attestd-renew',
  now: NOW,
  csrDer: CSR,
  ...overrides,
});
const rejected = (reason: RegExp) =>
  expect.objectContaining({ name: 'PopRejected', reason: expect.stringMatching(reason) });

describe('the proof of possession', () => {
  it('accepts a JWS by the certificate key over the CSR hash, and returns its jti and iat', async () => {
    await expect(verifyProofOfPossession(await sign(p256.privateKey, claims()), expected())).resolves.toEqual({
      jti: 'abcdefghijklmnop',
      iat: IAT,
    });
  });

  it.each([
    ['P-384', 'ES384', p384],
    ['RSA', 'RS256', rsa],
  ] as const)('accepts %s keys with %s', async (_name, alg, pair) => {
    expect(algorithmForKey(pair.publicKey)).toBe(alg);
    await expect(
      verifyProofOfPossession(await sign(pair.privateKey, claims(), { alg }), expected({ publicKey: pair.publicKey })),
    ).resolves.toBeDefined();
  });

  it('accepts a JWT-SVID request without a CSR binding', async () => {
    const pop = await sign(p256.privateKey, { aud: 'attestd-jwt-svid', iat: IAT, jti: 'abcdefghijklmnop' });
    await expect(
      verifyProofOfPossession(pop, expected({ audience: 'attestd-jwt-svid', csrDer: undefined })),
    ).resolves.toBeDefined();
  });

  it('refuses a signature by another key', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expect(verifyProofOfPossession(await sign(other.privateKey, claims()), expected())).rejects.toEqual(
      rejected(/signature does not verify/),
    );
  });

  it('refuses an ES256 signature in DER form, which JWS does not use', async () => {
    const pop = await sign(p256.privateKey, claims());
    const [header, payload] = pop.split('.');
    const der = nodeSign('sha256', Buffer.from(`${header}.${payload}`), p256.privateKey).toString('base64url');
    await expect(verifyProofOfPossession(`${header}.${payload}.${der}`, expected())).rejects.toEqual(
      rejected(/signature does not verify/),
    );
  });

  it('refuses a proof from an RSA key shorter than 2048 bits', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pop = await sign(weak.privateKey, claims(), { alg: 'RS256' }).catch(() => undefined);
    // jose will not sign with such a key either, so sign by hand
    const header = Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(claims())).toString('base64url');
    const signature = nodeSign('sha256', Buffer.from(`${header}.${payload}`), weak.privateKey).toString('base64url');
    expect(pop).toBeUndefined();
    await expect(
      verifyProofOfPossession(`${header}.${payload}.${signature}`, expected({ publicKey: weak.publicKey })),
    ).rejects.toEqual(rejected(/shorter than 2048 bits/));
  });

  it.each([
    ['P-256', 'ES256', p256],
    ['P-384', 'ES384', p384],
    ['RSA', 'RS256', rsa],
  ] as const)('refuses any other %s signature bytes', async (_name, alg, pair) => {
    const [header, payload] = (await sign(pair.privateKey, claims(), { alg })).split('.');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 300 }), async (bytes) => {
        const pop = `${header}.${payload}.${Buffer.from(bytes).toString('base64url')}`;
        await expect(verifyProofOfPossession(pop, expected({ publicKey: pair.publicKey }))).rejects.toEqual(
          rejected(/signature does not verify|not a compact JWS/),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a signature spelt with other unused trailing bits, though it decodes to the same bytes', async () => {
    const pop = await sign(p256.privateKey, claims());
    const last = pop.at(-1)!;
    // a 64-byte ES256 signature ends in a character whose low 2 bits are unused
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    const respelt = pop.slice(0, -1) + sibling;
    expect(Buffer.from(respelt.split('.')[2]!, 'base64url')).toEqual(Buffer.from(pop.split('.')[2]!, 'base64url'));
    await expect(verifyProofOfPossession(respelt, expected())).rejects.toEqual(rejected(/not canonical base64url/));
  });

  it("refuses an algorithm that is not the key's", async () => {
    await expect(
      verifyProofOfPossession(await sign(p384.privateKey, claims(), { alg: 'ES384' }), expected()),
    ).rejects.toEqual(rejected(/alg must be ES256/));
  });

  it.each(['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'b64'])('refuses a header that carries %s', async (name) => {
    const pop = await sign(p256.privateKey, claims(), { alg: 'ES256', [name]: name === 'b64' ? true : 'x' });
    await expect(verifyProofOfPossession(pop, expected())).rejects.toEqual(
      rejected(/header may hold only alg, typ and kid/),
    );
  });

  it.each([
    ['another audience', { aud: 'attestd-jwt-svid' }, /aud must be "attestd-renew"/],
    ['an audience array', { aud: ['attestd-renew'] }, /aud must be/],
    ['an iat two minutes old', { iat: IAT - 120 }, /iat is more than 60 s/],
    ['an iat two minutes ahead', { iat: IAT + 120 }, /iat is more than 60 s/],
    ['a fractional iat', { iat: IAT + 0.5 }, /iat must be an integer/],
    ['a short jti', { jti: 'short' }, /jti must be/],
    ['no jti', { jti: undefined }, /jti must be/],
    ['another CSR', { csr_sha256: csrSha256(randomBytes(10)) }, /csr_sha256 does not match/],
    ['no CSR hash', { csr_sha256: undefined }, /csr_sha256 is required/],
    ['an unexpected claim', { exp: IAT + 60 }, /unexpected claim "exp"/],
  ])('refuses %s', async (_name, overrides, reason) => {
    await expect(verifyProofOfPossession(await sign(p256.privateKey, claims(overrides)), expected())).rejects.toEqual(
      rejected(reason),
    );
  });

  it('accepts an iat 60 s either side of the clock', async () => {
    for (const iat of [IAT - 60, IAT + 60])
      await expect(
        verifyProofOfPossession(await sign(p256.privateKey, claims({ iat })), expected()),
      ).resolves.toBeDefined();
  });

  it('refuses a payload that is not a JSON object', async () => {
    await expect(verifyProofOfPossession(await sign(p256.privateKey, 'not json'), expected())).rejects.toEqual(
      rejected(/payload is not JSON/),
    );
    await expect(verifyProofOfPossession(await sign(p256.privateKey, [1]), expected())).rejects.toEqual(
      rejected(/not a JSON object/),
    );
  });

  it('answers any string with PopRejected, never another error', async () => {
    const valid = await sign(p256.privateKey, claims());
    const parts = valid.split('.');
    const input = fc.oneof(
      fc.string(),
      fc.tuple(fc.string(), fc.string(), fc.string()).map((p) => p.join('.')),
      fc.tuple(fc.base64String(), fc.constant(parts[1]!), fc.constant(parts[2]!)).map((p) => p.join('.')),
      fc.tuple(fc.constant(parts[0]!), fc.string(), fc.constant(parts[2]!)).map((p) => p.join('.')),
      fc.json().map((header) => [Buffer.from(header).toString('base64url'), parts[1], parts[2]].join('.')),
    );
    await fc.assert(
      fc.asyncProperty(input, async (pop) => {
        fc.pre(pop !== valid);
        await expect(verifyProofOfPossession(pop, expected())).rejects.toBeInstanceOf(PopRejected);
      }),
      { numRuns: 300 },
    );
  });
});
