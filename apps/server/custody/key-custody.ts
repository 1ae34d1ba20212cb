import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { KEK_BYTES, parseKek } from '@libs/pki';
import { asSettingError, type Settings } from '../settings/settings';
import { checkPrivateFile, RefusedFileError, securePrivateDirectory } from './private-files';

/** The key-encryption key an embedded server makes for itself when none is given, in its data directory. */
export const GENERATED_KEK_FILE = 'key-encryption-key';

/**
 * What seals keys at rest, settled before anything opens the database.
 *
 * On PostgreSQL the settings already carry a key (replicas must share one,
 * so settings refuse to start without it). The embedded database lives in
 * the data directory, which is made owner-only or refused when looser; with
 * no key given, the one in `<dataDir>/key-encryption-key` is used, made on
 * the first start. A key given later takes over from that file: the file's
 * key becomes a previous key, so what it sealed is opened and sealed again
 * with the given one.
 */
export function settleKeyCustody(settings: Settings, logger: Logger): Settings {
  if (settings.database.kind === 'postgres') return settings;
  asSettingError('dataDir', () => securePrivateDirectory(settings.dataDir));
  const file = join(settings.dataDir, GENERATED_KEK_FILE);
  if (settings.keyEncryptionKey) {
    if (!existsSync(file)) return settings;
    return {
      ...settings,
      previousKeyEncryptionKeys: [...settings.previousKeyEncryptionKeys, { key: readGenerated(file), source: file }],
    };
  }
  if (asSettingError('dataDir', () => createOnce(file, `${randomBytes(KEK_BYTES).toString('base64')}\n`))) {
    logger.info({ file }, 'custody: generated a key-encryption key; keys are sealed with it from now on');
  }
  return { ...settings, keyEncryptionKey: readGenerated(file), keyEncryptionKeySource: file };
}

function readGenerated(file: string): Buffer {
  return asSettingError('dataDir', () => {
    checkPrivateFile(file, { rootMayShareWithGroup: false });
    try {
      return parseKek(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new RefusedFileError(`${file}: ${(error as Error).message}`);
    }
  });
}

/**
 * Writes `content` to `path` unless a file is there, never a half-written
 * one: the content goes to a temporary owner-only file, which is then
 * hard-linked into place (link refuses to replace, so two starts racing keep
 * the first key).
 */
function createOnce(path: string, content: string): boolean {
  if (existsSync(path)) return false;
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}
