import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { openPrivateKey, openWithKeyRing, parseKek, sealPrivateKey } from './key-encryption';

const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

describe('sealPrivateKey / openPrivateKey', () => {
  const kek = randomBytes(32);

  it('round-trips a key sealed under a KEK', () => {
    const sealed = sealPrivateKey(pkcs8, kek);
    expect(sealed.encrypted).toBe(true);
    expect(sealed.sealed).toMatch(/^v1:[A-Za-z0-9+/]+=*$/);
    expect(sealed.sealed).not.toContain('PRIVATE KEY');
    expect(openPrivateKey(sealed.sealed, sealed.encrypted, kek)).toBe(pkcs8);
  });

  it('uses a fresh IV each time, so sealing twice gives different text', () => {
    expect(sealPrivateKey(pkcs8, kek).sealed).not.toBe(sealPrivateKey(pkcs8, kek).sealed);
  });

  it('stores the key as is, marked unencrypted, without a KEK', () => {
    expect(sealPrivateKey(pkcs8)).toEqual({ sealed: pkcs8, encrypted: false });
    expect(openPrivateKey(pkcs8, false)).toBe(pkcs8);
  });

  it('opens an unencrypted key even when a KEK is configured (the caller re-seals it)', () => {
    expect(openPrivateKey(pkcs8, false, kek)).toBe(pkcs8);
  });

  it('fails clearly when the KEK is missing', () => {
    const sealed = sealPrivateKey(pkcs8, kek);
    expect(() => openPrivateKey(sealed.sealed, true)).toThrow(/key-encryption key required/);
  });

  it('fails clearly when the KEK is wrong', () => {
    const sealed = sealPrivateKey(pkcs8, kek);
    expect(() => openPrivateKey(sealed.sealed, true, randomBytes(32))).toThrow(/key-encryption key does not match/);
  });

  it('fails when the sealed text was altered', () => {
    const sealed = sealPrivateKey(pkcs8, kek).sealed;
    const blob = Buffer.from(sealed.slice(3), 'base64');
    blob[20]! ^= 0x01;
    expect(() => openPrivateKey(`v1:${blob.toString('base64')}`, true, kek)).toThrow(
      /does not match .*or the sealed key was altered/,
    );
  });

  it('fails on an unknown format or a truncated blob', () => {
    expect(() => openPrivateKey('v2:AAAA', true, kek)).toThrow('kek: sealed private key has an unknown format');
    expect(() => openPrivateKey('v1:AAAA', true, kek)).toThrow('kek: sealed private key is truncated');
  });

  it('refuses a KEK that is not 32 bytes', () => {
    expect(() => sealPrivateKey(pkcs8, randomBytes(16))).toThrow('kek: key-encryption key must be 32 bytes');
    expect(() => openPrivateKey('v1:AAAA', true, randomBytes(31))).toThrow('kek: key-encryption key must be 32 bytes');
  });
});

describe('parseKek', () => {
  const bytes = randomBytes(32);

  it.each([
    ['hex', bytes.toString('hex')],
    ['upper-case hex', bytes.toString('hex').toUpperCase()],
    ['base64', bytes.toString('base64')],
    ['base64 without padding', bytes.toString('base64').replace(/=$/, '')],
    ['base64url', bytes.toString('base64url')],
    ['base64 with surrounding whitespace (a file with a newline)', `${bytes.toString('base64')}\n`],
  ])('accepts %s', (_name, text) => {
    expect(parseKek(text).equals(bytes)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['31 bytes of hex', randomBytes(31).toString('hex')],
    ['33 bytes of hex', randomBytes(33).toString('hex')],
    ['16 bytes of base64', randomBytes(16).toString('base64')],
    ['48 bytes of base64', randomBytes(48).toString('base64')],
    ['a passphrase', 'correct horse battery staple'],
    ['base64 with non-zero spare bits', `${bytes.toString('base64').slice(0, 42)}B=`],
  ])('rejects %s with a message that does not echo it', (_name, text) => {
    let message = '';
    try {
      parseKek(text);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^kek: key-encryption key must be 32 bytes written as 64 hex characters or base64/);
    if (text.length > 0) expect(message).not.toContain(text.trim());
  });
});

describe('openWithKeyRing', () => {
  const [current, previous, other] = [randomBytes(32), randomBytes(32), randomBytes(32)];
  const pem = '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n';
  const ring = { current, previous: [other, previous] };

  it('opens with the current key and leaves it be', () => {
    expect(openWithKeyRing(sealPrivateKey(pem, current).sealed, true, ring)).toEqual({ pem, stale: false });
  });

  it('opens with a previous key, or a plaintext key as it is, and says it must be sealed again', () => {
    expect(openWithKeyRing(sealPrivateKey(pem, previous).sealed, true, ring)).toEqual({ pem, stale: true });
    expect(openWithKeyRing(pem, false, ring)).toEqual({ pem, stale: true });
  });

  it('fails as the current key does when no key opens it', () => {
    expect(() => openWithKeyRing(sealPrivateKey(pem, randomBytes(32)).sealed, true, ring)).toThrow(
      /^kek: key-encryption key does not match/,
    );
  });
});
