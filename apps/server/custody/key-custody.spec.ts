import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadSettings } from '../settings/settings';
import { GENERATED_KEK_FILE, settleKeyCustody } from './key-custody';

describe('key custody at start', () => {
  let root: string;
  const logger = pino({ level: 'silent' });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'custody-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('makes a missing data directory, and its missing parents, 0700, and a key file 0600 in it, used from then on', () => {
    const dataDir = join(root, 'var', 'attestd');
    const first = settleKeyCustody(loadSettings({ ATTESTD_DATA_DIR: dataDir }), logger);
    expect(statSync(join(root, 'var')).mode & 0o777).toBe(0o700);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const file = join(dataDir, GENERATED_KEK_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(first).toMatchObject({ keyEncryptionKeySource: file, previousKeyEncryptionKeys: [] });
    const second = settleKeyCustody(loadSettings({ ATTESTD_DATA_DIR: dataDir }), logger);
    expect(second.keyEncryptionKey).toEqual(first.keyEncryptionKey);
  });

  it('leaves the data directory alone on PostgreSQL, where the settings carry the key', () => {
    const dataDir = join(root, 'unused');
    const settings = loadSettings({
      ATTESTD_DATA_DIR: dataDir,
      DATABASE_URL: 'postgresql://db/attestd',
      ATTESTD_KEY_ENCRYPTION_KEY: 'ab'.repeat(32),
    });
    expect(settleKeyCustody(settings, logger)).toBe(settings);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('keeps a generated key as a previous key once another is given, so what it sealed can be sealed again', () => {
    const generated = settleKeyCustody(loadSettings({ ATTESTD_DATA_DIR: root }), logger);
    const given = settleKeyCustody(
      loadSettings({ ATTESTD_DATA_DIR: root, ATTESTD_KEY_ENCRYPTION_KEY: 'ab'.repeat(32) }),
      logger,
    );
    expect(given).toMatchObject({
      keyEncryptionKey: Buffer.from('ab'.repeat(32), 'hex'),
      keyEncryptionKeySource: 'ATTESTD_KEY_ENCRYPTION_KEY',
    });
    expect(given.previousKeyEncryptionKeys).toEqual([
      { key: generated.keyEncryptionKey, source: join(root, GENERATED_KEK_FILE) },
    ]);
  });
});
