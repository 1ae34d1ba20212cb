import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { openDatabase } from '@libs/persistence/database';
import { migrate, readMigrations } from '@libs/persistence/migrator';

const REPO = resolve(__dirname, '..', '..');
const CACHE = join(REPO, 'node_modules', '.cache', 'attestd-tests');

/**
 * A new embedded database costs about 3 s of CPU in PGlite's initdb and
 * more in the migrations; opening an existing one, a tenth of that. So each
 * set of migrations (and PGlite version) is applied once, to a data
 * directory kept under node_modules/.cache, and tests copy it: what they get
 * is what `migrate` makes of an empty database, and `migrate` still runs on
 * the copy (and finds nothing to do).
 */
async function template(): Promise<string> {
  const pglite = (
    JSON.parse(readFileSync(join(REPO, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const key = createHash('sha256').update(pglite);
  for (const migration of readMigrations()) key.update(`${migration.name}\0${migration.checksum}\0`);
  const dir = join(CACHE, `pglite-${key.digest('hex').slice(0, 16)}`);
  if (existsSync(dir)) return dir;
  mkdirSync(CACHE, { recursive: true });
  // built beside its final name and renamed into place, so that two workers building at once both end with a whole one
  const building = mkdtempSync(`${dir}.building-`);
  try {
    const db = await openDatabase({ kind: 'pglite', dataDir: building });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    renameSync(building, dir);
  } catch (error) {
    if (!existsSync(dir)) throw error;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return dir;
}

/** Makes `target` (which must not exist) an embedded data directory holding a migrated, empty database. */
export async function copyMigratedPglite(target: string): Promise<void> {
  cpSync(await template(), target, { recursive: true });
  ownerOnly(target);
}

/** As the server keeps an embedded database it made (and refuses a data directory others can read). */
function ownerOnly(path: string): void {
  if (!statSync(path).isDirectory()) return chmodSync(path, 0o600);
  chmodSync(path, 0o700);
  for (const name of readdirSync(path)) ownerOnly(join(path, name));
}
