import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// attestd as its own process (the built dist/bench/apps/server/main.js), so
// the load generator never shares its event loop.

export interface ServerProcess {
  url: string;
  pid: number;
  /** resident set size now, MiB (Linux /proc) */
  rssMiB(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function rssMiBOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) / 1024 : NaN;
}

/** Starts a node script as a child and waits until `readyPath` answers 200. */
export async function startNodeProcess(
  script: string,
  env: Record<string, string>,
  options: { readyPath: string; nodeArgs?: string[] },
): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The server's standard output (its logs, and what flags such as
  // --trace-gc print) is dropped unless BENCH_SERVER_STDOUT names a file.
  const stdoutPath = process.env.BENCH_SERVER_STDOUT;
  const stdout = stdoutPath ? openSync(stdoutPath, 'a', 0o600) : 'ignore';
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), script], {
    env: { ...process.env, ...env, ATTESTD_LISTEN: `127.0.0.1:${port}`, BENCH_PORT: String(port) },
    stdio: ['ignore', stdout, 'pipe'],
  });
  if (typeof stdout === 'number') closeSync(stdout);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`bench: ${script} exited (${child.exitCode}): ${stderr}`);
    const ok = await fetch(url + options.readyPath).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (attempt > 600) throw new Error(`bench: ${script} did not become ready: ${stderr}`);
    await sleep(100);
  }
  return {
    url,
    pid: child.pid!,
    rssMiB: () => rssMiBOf(child.pid!),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function builtScript(...path: string[]): string {
  // __dirname is dist/bench/bench: the build's root is one up
  return join(__dirname, '..', ...path);
}
