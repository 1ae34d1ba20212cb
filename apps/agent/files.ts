import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { errorMessage } from '@libs/cli-support/errors';

export const FILE_NAMES = { svid: 'svid.pem', key: 'svid.key', bundle: 'bundle.pem', state: 'agent.json' } as const;

/** The order files are renamed in: the SVID last, so its change means a whole new set is in place. */
export const RENAME_ORDER = [FILE_NAMES.state, FILE_NAMES.bundle, FILE_NAMES.key, FILE_NAMES.svid] as const;

const DIR_MODE = 0o700;
const KEY_MODE = 0o600;
/** certificates are public; the umask still applies to them */
const CERT_MODE = 0o644;

export interface SvidMaterial {
  /** PEM chain, leaf first */
  certChain: string;
  /** PKCS#8 PEM */
  privateKeyPem: string;
  /** trust bundle PEM */
  bundle: string;
  /** after a login: `agent.json` (`state.ts`); renewals keep the one on disk */
  state?: string;
}

/** Absolute paths of what was written. */
export interface WrittenFiles {
  dir: string;
  svid: string;
  key: string;
  bundle: string;
  /** when `state` was written */
  state?: string;
}

export interface WriteHooks {
  /** called with each staged temp file just before it replaces its target (tests) */
  beforeRename?(tempPath: string, targetPath: string): Promise<void>;
}

/**
 * Writes `svid.pem`, `svid.key` and `bundle.pem` (and `agent.json` after a
 * login) into `dir` (created 0700 when missing). Each file is staged as a
 * temp file in the same directory, flushed, then renamed over its target,
 * so a reader sees the old file or the new one, never a partial one. The
 * key's temp file is created 0600, so it is never readable by others,
 * whatever the umask. All of them are staged before the first rename, under
 * one write id (`.svid.pem.<id>.tmp`), and renamed in RENAME_ORDER at once,
 * so a write a crash cut short between two renames can be finished
 * (`recovery.ts`).
 */
export async function writeSvidFiles(
  dir: string,
  material: SvidMaterial,
  hooks: WriteHooks = {},
): Promise<WrittenFiles> {
  const target = resolve(dir);
  await ensureDirectory(target);
  const files: WrittenFiles = {
    dir: target,
    svid: join(target, FILE_NAMES.svid),
    key: join(target, FILE_NAMES.key),
    bundle: join(target, FILE_NAMES.bundle),
    ...(material.state && { state: join(target, FILE_NAMES.state) }),
  };
  const plan = [
    ...(files.state && material.state
      ? [{ path: files.state, content: material.state, mode: CERT_MODE, exact: false }]
      : []),
    { path: files.bundle, content: material.bundle, mode: CERT_MODE, exact: false },
    { path: files.key, content: material.privateKeyPem, mode: KEY_MODE, exact: true },
    { path: files.svid, content: material.certChain, mode: CERT_MODE, exact: false },
  ];

  const staged: { temp: string; path: string }[] = [];
  const writeId = randomBytes(6).toString('hex');
  try {
    for (const file of plan) {
      const temp = tempPathFor(file.path, writeId);
      await writeNew(temp, file.content, file.mode, file.exact);
      staged.push({ temp, path: file.path });
    }
    while (staged.length > 0) {
      const { temp, path } = staged[0]!;
      await hooks.beforeRename?.(temp, path);
      try {
        await rename(temp, path);
      } catch (error) {
        throw new Error(`cannot replace ${path}: ${errorMessage(error)}`, { cause: error });
      }
      staged.shift();
    }
  } finally {
    await Promise.all(staged.map(({ temp }) => unlink(temp).catch(() => undefined)));
  }
  await syncDirectory(target);
  return files;
}

async function ensureDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch (error) {
    throw new Error(`cannot use output directory ${dir}: ${errorMessage(error)}`, { cause: error });
  }
}

function tempPathFor(path: string, writeId: string): string {
  return join(dirname(path), `.${basename(path)}.${writeId}.tmp`);
}

/** A staged file's name: which target it replaces, and the write it belongs to. */
export function parseTempName(name: string): { target: string; writeId: string } | undefined {
  const match = /^\.(svid\.pem|svid\.key|bundle\.pem|agent\.json)\.([0-9a-f]{12})\.tmp$/.exec(name);
  return match ? { target: match[1]!, writeId: match[2]! } : undefined;
}

/**
 * O_CREAT|O_EXCL: never follows or reuses an existing file; mode set at
 * creation. Removes the file again when writing it fails.
 */
async function writeNew(path: string, content: string, mode: number, exact: boolean): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', mode);
  } catch (error) {
    throw new Error(`cannot create ${path}: ${errorMessage(error)}`, { cause: error });
  }
  try {
    // the umask may only have narrowed it; the key's mode is then made exact
    if (exact) await handle.chmod(mode);
    await handle.writeFile(content, 'utf8');
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw new Error(`cannot write ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

/** Makes the renames durable; not every platform can fsync a directory. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}
