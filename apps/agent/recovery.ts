import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FILE_NAMES, parseTempName, RENAME_ORDER, syncDirectory } from './files';
import { parseAgentState } from './state';

/** What `finishInterruptedWrite` did, for the daemon's log. */
export interface Recovery {
  /** the write id of the staged set it put in place, if any */
  finished?: string;
  /** temp files it removed */
  removed: number;
}

/**
 * Finishes a write of the agent's files that a crash (SIGKILL, power loss)
 * cut short, and removes the temp files it left. `writeSvidFiles` stages a
 * whole set under one write id before its first rename and renames in
 * RENAME_ORDER, so after a crash between two renames `svid.key` may be new
 * and `svid.pem` old: a pair that certifies nothing, which would lock the
 * agent out. The newest staged set that is complete (its certificate
 * certifies its key, staged or already renamed, and verifies against its
 * bundle when that was staged too) is put in place; it is an SVID attestd
 * issued and committed, so it is the one to keep. Staged sets that are not
 * complete were cut short before any rename and are dropped: the files in
 * place are still a whole set. Run it before reading the files, and only
 * where no other writer is at work (the daemon, at start).
 */
export async function finishInterruptedWrite(dir: string): Promise<Recovery> {
  const target = resolve(dir);
  let names: string[];
  try {
    names = await readdir(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { removed: 0 };
    throw error;
  }
  const sets = new Map<string, Map<string, string>>();
  for (const name of names) {
    const staged = parseTempName(name);
    if (!staged) continue;
    const set = sets.get(staged.writeId) ?? new Map<string, string>();
    set.set(staged.target, join(target, name));
    sets.set(staged.writeId, set);
  }
  if (sets.size === 0) return { removed: 0 };

  const complete = await newestComplete(target, sets);
  if (complete) {
    const set = sets.get(complete)!;
    for (const name of RENAME_ORDER) {
      const temp = set.get(name);
      if (temp === undefined) continue;
      await rename(temp, join(target, name));
      set.delete(name);
    }
  }
  const leftovers = [...sets.values()].flatMap((set) => [...set.values()]);
  await Promise.all(leftovers.map((path) => unlink(path).catch(() => undefined)));
  await syncDirectory(target);
  return { ...(complete && { finished: complete }), removed: leftovers.length };
}

/** The write id of the newest complete staged set (by its certificate's notBefore). */
async function newestComplete(dir: string, sets: Map<string, Map<string, string>>): Promise<string | undefined> {
  let best: { writeId: string; notBefore: number } | undefined;
  for (const [writeId, set] of sets) {
    const notBefore = await completeSetNotBefore(dir, set);
    if (notBefore !== undefined && (!best || notBefore > best.notBefore)) best = { writeId, notBefore };
  }
  return best?.writeId;
}

/** The staged certificate's notBefore when the set is whole; undefined when it is not. */
async function completeSetNotBefore(dir: string, set: Map<string, string>): Promise<number | undefined> {
  const certPath = set.get(FILE_NAMES.svid);
  // the SVID is renamed last: a set without its temp was renamed whole
  if (certPath === undefined) return undefined;
  try {
    const leaf = new X509Certificate(await readFile(certPath, 'utf8'));
    const keyPem = await readFile(set.get(FILE_NAMES.key) ?? join(dir, FILE_NAMES.key), 'utf8');
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return undefined;
    const bundlePath = set.get(FILE_NAMES.bundle);
    if (bundlePath !== undefined && !verifiesAgainst(leaf, await readFile(bundlePath, 'utf8'))) return undefined;
    const statePath = set.get(FILE_NAMES.state);
    if (statePath !== undefined && !parseAgentState(await readFile(statePath, 'utf8'))) return undefined;
    return leaf.validFromDate.getTime();
  } catch {
    // unreadable or cut short: not a whole set
    return undefined;
  }
}

function verifiesAgainst(leaf: X509Certificate, bundlePem: string): boolean {
  const certificates = bundlePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return certificates.some((pem) => {
    const ca = new X509Certificate(pem);
    return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
  });
}
