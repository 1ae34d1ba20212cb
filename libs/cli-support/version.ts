import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * package.json's version, written into the bundled CLIs by
 * `scripts/build-cli.mts` (esbuild's `define`); undeclared when the code runs
 * from `dist/` or under Jest, which read package.json instead.
 */
declare const ATTESTD_BUILD_VERSION: string | undefined;

/** The version of attestd this program belongs to, as `--version` prints it. */
export function productVersion(): string {
  if (typeof ATTESTD_BUILD_VERSION === 'string') return ATTESTD_BUILD_VERSION;
  return packageVersion(__dirname) ?? 'unknown';
}

/** The version in attestd's package.json, found by walking up from `start` (`dist/` sits below it). */
export function packageVersion(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const version = attestdVersionIn(join(dir, 'package.json'));
    if (version !== undefined) return version;
    if (dirname(dir) === dir) return undefined;
  }
}

function attestdVersionIn(path: string): string | undefined {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  const { name, version } = (manifest ?? {}) as { name?: unknown; version?: unknown };
  return name === 'attestd' && typeof version === 'string' ? version : undefined;
}
