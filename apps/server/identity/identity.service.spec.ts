import { randomBytes, X509Certificate } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import pino from 'pino';
import { Writable } from 'node:stream';
import type { KeysRepository, StoredKey } from '../../../libs/persistence';
import { openPrivateKey } from '../../../libs/pki';
import { SettingsError, type Settings } from '../settings/settings';
import { IdentityService } from './identity.service';

/** The signing_keys table in memory, with the repository's first-insert-wins rule. */
class MemoryKeys {
  readonly rows = new Map<string, StoredKey>();
  async byPurpose(purpose: string): Promise<StoredKey[]> {
    return [...this.rows.values()].filter((k) => k.purpose === purpose).sort((a, b) => a.notBefore.getTime() - b.notBefore.getTime());
  }
  async getOrCreate(id: string, make: () => StoredKey | Promise<StoredKey>): Promise<StoredKey> {
    if (!this.rows.has(id)) this.rows.set(id, { ...(await make()), id });
    return this.rows.get(id)!;
  }
  async reseal(id: string, from: string, to: string): Promise<boolean> {
    const row = this.rows.get(id);
    if (row?.privateKey !== from) return false;
    this.rows.set(id, { ...row, privateKey: to, encrypted: true });
    return true;
  }
}

const T0 = Date.now();
const ROTATION = 100;
const JWT_TTL = 10;

describe('the identity service\'s key rotation', () => {
  let now: Date;
  let keys: MemoryKeys;
  let identity: IdentityService;
  const kek = randomBytes(32);
  const settings = {
    trustDomain: 'example.org',
    caTtlSeconds: 1000,
    caRotationSeconds: ROTATION,
    jwtKeyRotationSeconds: ROTATION,
    jwtSvidTtlSeconds: JWT_TTL,
    jwtAlgorithm: 'RS256',
    jwtIssuer: 'https://issuer.example',
    keyEncryptionKey: kek,
    keyEncryptionKeySource: 'ATTESTD_KEY_ENCRYPTION_KEY',
    previousKeyEncryptionKeys: [],
  } as unknown as Settings;
  const advanceTo = async (seconds: number) => {
    now = new Date(T0 + seconds * 1000);
    await identity.rotate();
  };
  const certificates = () => identity.bundlePems().map((pem) => new X509Certificate(pem));
  const kids = () => identity.jwks().keys.map((k) => k.kid);
  const signingKid = async () => decodeProtectedHeader((await identity.signJwtSvid({ sub: 'spiffe://example.org/a', aud: ['x'] }, now)).token).kid;

  beforeEach(async () => {
    now = new Date(T0);
    keys = new MemoryKeys();
    identity = new IdentityService(keys as unknown as KeysRepository, settings, pino({ level: 'silent' }), () => now);
    await identity.onModuleInit();
  });
  afterEach(() => identity.onModuleDestroy());

  it('publishes the next CA and JWT key half a period before they sign, and keeps the previous until what it signed expired', async () => {
    const [firstCa] = certificates();
    const [firstKid] = kids();
    expect(certificates()).toHaveLength(1);

    await advanceTo(ROTATION / 2 - 1);
    expect(certificates()).toHaveLength(1);
    await advanceTo(ROTATION / 2);
    const [, nextCa] = certificates();
    const [, nextKid] = kids();
    expect(certificates()).toHaveLength(2);
    expect(kids()).toHaveLength(2);
    // published, not signing
    expect(identity.ca.bundlePem()).toBe(identity.bundlePem());
    expect(new X509Certificate(identity.ca.bundlePem()).fingerprint256).toBe(firstCa!.fingerprint256);
    expect(await signingKid()).toBe(firstKid);

    await advanceTo(ROTATION);
    expect(await signingKid()).toBe(nextKid);
    expect(certificates()[0]!.fingerprint256).toBe(nextCa!.fingerprint256);
    const svid = identity.ca.issueX509Svid({ spiffeId: 'spiffe://example.org/a', subjectPublicKey: nextCa!.publicKey, ttlSeconds: 60, now });
    expect(new X509Certificate(svid.certPem).verify(nextCa!.publicKey)).toBe(true);
    // the retired key stays in the JWKS for the tokens it signed just before the switch
    expect(kids()).toEqual([nextKid, firstKid]);

    await advanceTo(ROTATION + JWT_TTL - 1);
    expect(kids()).toContain(firstKid);
    await advanceTo(ROTATION + JWT_TTL);
    expect(kids()).not.toContain(firstKid);
    // the first CA stays until its notAfter: every SVID it signed is capped there
    expect(certificates().map((c) => c.fingerprint256)).toContain(firstCa!.fingerprint256);
    await advanceTo(1000);
    expect(certificates().map((c) => c.fingerprint256)).not.toContain(firstCa!.fingerprint256);
  });

  it('caps a token at its key\'s notAfter, and tokens verify against the JWKS', async () => {
    await advanceTo(ROTATION + JWT_TTL / 2);
    // every replica was down through the pre-publication window: the overdue key signs at once
    const { token, expiresAt } = await identity.signJwtSvid({ sub: 'spiffe://example.org/a', aud: ['x'] }, now);
    expect(expiresAt.getTime()).toBeLessThanOrEqual(now.getTime() + JWT_TTL * 1000);
    const { payload } = await jwtVerify(token, createLocalJWKSet(identity.jwks()), { issuer: 'https://issuer.example', audience: 'x', currentDate: now });
    expect(payload.sub).toBe('spiffe://example.org/a');
  });

  it('stores private keys and server secrets sealed with the key-encryption key', () => {
    const stored = [...keys.rows.values()];
    expect(stored.map((k) => k.purpose).sort()).toEqual(['admin-actor-mac', 'jwt-svid', 'login-mac', 'x509-ca']);
    for (const row of stored) {
      expect(row.encrypted).toBe(true);
      expect(row.privateKey).not.toMatch(/PRIVATE KEY/);
    }
  });

  it('loads keys another replica made, and signs with the same ones', async () => {
    const other = new IdentityService(keys as unknown as KeysRepository, settings, pino({ level: 'silent' }), () => now);
    await other.onModuleInit();
    other.onModuleDestroy();
    expect(other.bundlePem()).toBe(identity.bundlePem());
    expect(other.jwks()).toEqual(identity.jwks());
  });

  describe('with a key-encryption key set or changed after keys were stored', () => {
    const logged: { msg: string; keys?: { id: string; was: string }[] }[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (logged.push(JSON.parse(chunk.toString('utf8')) as { msg: string }), done()) }));
    const start = async (overrides: Partial<Settings>) => {
      const service = new IdentityService(keys as unknown as KeysRepository, { ...settings, ...overrides }, logger, () => now);
      await service.onModuleInit();
      service.onModuleDestroy();
      return service;
    };
    const sealedLog = () => logged.filter((l) => l.msg.startsWith('identity: sealed'));
    beforeEach(() => (logged.length = 0));

    it('seals keys stored in plaintext, says so once, and serves the same CA', async () => {
      for (const row of keys.rows.values()) keys.rows.set(row.id, { ...row, privateKey: openPrivateKey(row.privateKey, true, kek), encrypted: false });
      const bundle = identity.bundlePem();
      const again = await start({});
      expect(again.bundlePem()).toBe(bundle);
      expect(sealedLog()).toHaveLength(1);
      expect(sealedLog()[0]!.keys!.map((k) => k.was)).toEqual(Array(keys.rows.size).fill('plaintext'));
      for (const row of keys.rows.values()) expect(openPrivateKey(row.privateKey, row.encrypted, kek)).toMatch(/./);
      await start({});
      expect(sealedLog()).toHaveLength(1);
    });

    it('rotates: opens with the previous key, seals with the new one; without the previous key, stops with one line', async () => {
      const next = randomBytes(32);
      await expect(start({ keyEncryptionKey: next })).rejects.toThrow(SettingsError);
      await expect(start({ keyEncryptionKey: next })).rejects.toThrow(/^keyEncryptionKey \(ATTESTD_KEY_ENCRYPTION_KEY\): the key from ATTESTD_KEY_ENCRYPTION_KEY does not open the stored key [^\n]+keyEncryptionKeyPrevious[^\n]*$/);
      const bundle = identity.bundlePem();
      const rotated = await start({ keyEncryptionKey: next, previousKeyEncryptionKeys: [{ key: kek, source: 'ATTESTD_KEY_ENCRYPTION_KEY_PREVIOUS' }] });
      expect(rotated.bundlePem()).toBe(bundle);
      expect(sealedLog()[0]!.keys!.map((k) => k.was)).toEqual(Array(keys.rows.size).fill('sealed with a previous key'));
      for (const row of keys.rows.values()) expect(() => openPrivateKey(row.privateKey, true, kek)).toThrow(/does not match/);
      expect((await start({ keyEncryptionKey: next })).bundlePem()).toBe(bundle);
    });
  });
});
