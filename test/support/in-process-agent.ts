import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DaemonClock } from '@apps/agent/daemon';
import { main, type RunControl } from '@apps/agent/main';

// The reference agent run in the test's process through its real main():
// real HTTP, real files, a clock whose waits the test releases.

export interface Wait {
  ms: number;
  release(): void;
}

/**
 * The daemon's clock, stepped by the test: real time (attestd checks the
 * proof's `iat` and the SVID's expiry against its own clock), but every
 * sleep waits until the test releases it, so no test waits out a half-life.
 * `next()` resolves when the daemon sleeps, that is once it has finished
 * what it was doing.
 */
export function steppedClock(): DaemonClock & { next(): Promise<Wait> } {
  const waits: Wait[] = [];
  const takers: ((wait: Wait) => void)[] = [];
  return {
    now: () => Date.now(),
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => resolve(), { once: true });
        const wait = { ms, release: resolve };
        const taker = takers.shift();
        if (taker) taker(wait);
        else waits.push(wait);
      }),
    next: () => {
      const wait = waits.shift();
      return wait ? Promise.resolve(wait) : new Promise<Wait>((resolve) => takers.push(resolve));
    },
  };
}

/** The agent's main, in-process, with what it prints captured (its JSON log lines parsed). */
export function startAgent(argv: string[], control: RunControl = {}) {
  const output = { stdout: '', stderr: '' };
  const status = main(
    argv,
    {},
    { stdout: (text) => void (output.stdout += text), stderr: (text) => void (output.stderr += text) },
    control,
  );
  /** the daemon's next wait; fails the test at once when the agent exits instead */
  const nextWait = (clock: ReturnType<typeof steppedClock>) =>
    Promise.race([
      clock.next(),
      status.then((code) => Promise.reject(new Error(`the agent exited with ${code}: ${output.stderr}`))),
    ]);
  return {
    status,
    output,
    nextWait,
    logLines: () =>
      output.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export /** The files an agent wrote to `dir`, read as a workload would. */
async function readSvid(dir: string) {
  const [svid, key, bundle] = await Promise.all(
    ['svid.pem', 'svid.key', 'bundle.pem'].map((name) => readFile(join(dir, name), 'utf8')),
  );
  const leaf = new X509Certificate(svid!);
  return {
    leaf,
    key: key!,
    bundle: new X509Certificate(bundle!),
    serial: leaf.serialNumber.toLowerCase(),
    spiffeId: leaf.subjectAltName!.replace(/^URI:/, ''),
  };
}
