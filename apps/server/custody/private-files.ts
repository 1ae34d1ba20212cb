import { mkdirSync, statSync, type Stats } from 'node:fs';

/**
 * The checks PostgreSQL makes of its data directory and key files, made by
 * attestd of its own: what holds keys must not be readable by other local
 * users, and a looser mode stops the server at start, with the command that
 * fixes it, rather than serving with keys another user may have copied.
 */

/** A file or directory refused at start: one line, naming the path and the fix. */
export class RefusedFileError extends Error {}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;
const ownUid = () => process.getuid?.();

/**
 * Makes `dir` (and missing parents) owner-only, or checks the one there:
 * owned by the server's user, no access for group or others.
 */
export function securePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  if (!stat.isDirectory()) throw new RefusedFileError(`${dir} is not a directory`);
  checkOwner(dir, stat, `chown -R ${ownUid()} ${dir}`);
  if ((stat.mode & 0o077) !== 0) {
    throw new RefusedFileError(
      `data directory ${dir} has invalid permissions ${octal(stat.mode)}; it must be 0700 (u=rwx, no access for group or others): run chmod -R go= ${dir}`,
    );
  }
}

/**
 * A key file the server made: owner-only (0600 or 0400). One an operator
 * gives (a mounted secret) may also be root's and group-readable (0640,
 * 0440, as Kubernetes writes secrets with `defaultMode: 0440` and an
 * `fsGroup`), as PostgreSQL allows for its TLS key.
 */
export function checkPrivateFile(path: string, options: { rootMayShareWithGroup: boolean }): void {
  const stat = statSync(path);
  if (!stat.isFile()) throw new RefusedFileError(`${path} is not a regular file`);
  const rootOwned = stat.uid === 0 && ownUid() !== 0;
  if (!(rootOwned && options.rootMayShareWithGroup)) checkOwner(path, stat, `chown ${ownUid()} ${path}`);
  const allowed = rootOwned && options.rootMayShareWithGroup ? 0o640 : 0o600;
  if ((stat.mode & 0o777 & ~allowed) !== 0) {
    throw new RefusedFileError(
      `key file ${path} has invalid permissions ${octal(stat.mode)}; it must be ${octal(allowed)} or stricter (no access for others): run chmod ${allowed === 0o600 ? '600' : '640'} ${path}`,
    );
  }
}

function checkOwner(path: string, stat: Stats, fix: string): void {
  const uid = ownUid();
  if (uid !== undefined && stat.uid !== uid)
    throw new RefusedFileError(
      `${path} is owned by uid ${stat.uid}, not by the user attestd runs as (uid ${uid}): run ${fix}`,
    );
}
