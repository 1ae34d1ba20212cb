import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { TrustDomainKeys } from '@libs/keys';
import { MemoryKeys } from '@libs/keys/testing';
import { openPrivateKey } from '@libs/pki';
import { SettingsError } from '../settings/settings';
import { adminActorIds, keyCustody, loginIdCodec } from './identity.providers';

const settings = {
  trustDomain: 'example.org',
  caTtlSeconds: 1000,
  caRotationSeconds: 100,
  jwtKeyRotationSeconds: 100,
  jwtSvidTtlSeconds: 10,
  jwtAlgorithm: 'RS256' as const,
  keyEncryptionKeySource: 'ATTESTD_KEY_ENCRYPTION_KEY',
  previousKeyEncryptionKeys: [] as { key: Buffer; source: string }[],
};

describe('the identity keys at rest', () => {
  let keys: MemoryKeys;
  const kek = randomBytes(32);
  const logged: { msg: string; keys?: { id: string; was: string }[] }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write: (chunk: Buffer, _e, done) => (logged.push(JSON.parse(chunk.toString('utf8')) as { msg: string }), done()),
    }),
  );
  /** What the identity module does at start: open the server secrets, then rotate (which seals again what it opened). */
  const start = async (overrides: Partial<typeof settings> & { keyEncryptionKey?: Buffer } = {}) => {
    const custody = keyCustody(keys, { keyEncryptionKey: kek, ...settings, ...overrides }, logger);
    const loginIds = await loginIdCodec(custody);
    const actorIds = await adminActorIds(custody);
    const trustDomain = new TrustDomainKeys(settings, custody, logger);
    await trustDomain.rotate();
    return { trustDomain, loginIds, actorIds };
  };
  const sealedLog = () => logged.filter((l) => l.msg.startsWith('identity: sealed'));

  beforeEach(async () => {
    keys = new MemoryKeys();
    await start();
    logged.length = 0;
  });

  it('stores private keys and server secrets sealed with the key-encryption key', () => {
    const stored = [...keys.rows.values()];
    expect(stored.map((k) => k.purpose).sort()).toEqual(['admin-actor-mac', 'jwt-svid', 'login-mac', 'x509-ca']);
    for (const row of stored) {
      expect(row.encrypted).toBe(true);
      expect(row.privateKey).not.toMatch(/PRIVATE KEY/);
    }
  });

  it('shares the server secrets between replicas: the same admin-actor IDs and login IDs', async () => {
    const one = await start();
    const two = await start();
    const hash = randomBytes(32);
    expect(two.actorIds.of(hash)).toBe(one.actorIds.of(hash));
    const { loginId } = one.loginIds.issue(['join_token'], {}, new Date());
    expect(two.loginIds.open(loginId, new Date()).providedMethods).toEqual(['join_token']);
  });

  describe('with a key-encryption key set or changed after keys were stored', () => {
    it('seals keys stored in plaintext, says so once, and serves the same CA', async () => {
      const bundle = (await start()).trustDomain.bundlePem();
      for (const row of keys.rows.values())
        keys.rows.set(row.id, { ...row, privateKey: openPrivateKey(row.privateKey, true, kek), encrypted: false });
      const again = await start();
      expect(again.trustDomain.bundlePem()).toBe(bundle);
      expect(sealedLog()).toHaveLength(1);
      expect(sealedLog()[0]!.keys!.map((k) => k.was)).toEqual(Array(keys.rows.size).fill('plaintext'));
      for (const row of keys.rows.values()) expect(openPrivateKey(row.privateKey, row.encrypted, kek)).toMatch(/./);
      await start();
      expect(sealedLog()).toHaveLength(1);
    });

    it('rotates: opens with the previous key, seals with the new one; without the previous key, stops with one line', async () => {
      const next = randomBytes(32);
      await expect(start({ keyEncryptionKey: next })).rejects.toThrow(SettingsError);
      await expect(start({ keyEncryptionKey: next })).rejects.toThrow(
        /^keyEncryptionKey \(ATTESTD_KEY_ENCRYPTION_KEY\): the key from ATTESTD_KEY_ENCRYPTION_KEY does not open the stored key [^\n]+keyEncryptionKeyPrevious[^\n]*$/,
      );
      const bundle = (await start()).trustDomain.bundlePem();
      const rotated = await start({
        keyEncryptionKey: next,
        previousKeyEncryptionKeys: [{ key: kek, source: 'ATTESTD_KEY_ENCRYPTION_KEY_PREVIOUS' }],
      });
      expect(rotated.trustDomain.bundlePem()).toBe(bundle);
      expect(sealedLog()[0]!.keys!.map((k) => k.was)).toEqual(Array(keys.rows.size).fill('sealed with a previous key'));
      for (const row of keys.rows.values())
        expect(() => openPrivateKey(row.privateKey, true, kek)).toThrow(/does not match/);
      expect((await start({ keyEncryptionKey: next })).trustDomain.bundlePem()).toBe(bundle);
    });
  });
});
