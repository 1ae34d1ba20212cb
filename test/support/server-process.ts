import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { runAsAdmin } from './database';
import { refuseInUnitTier } from './tier';

const REPO = resolve(__dirname, '..', '..');
/** Multi-process tests need a real PostgreSQL even in a PGlite run; CI and the dev machine have this one. */
export const DEFAULT_POSTGRES_URL = 'postgresql://postgres@127.0.0.1:5432/test';

/**
 * The server compiled with the repository's own build (`swc apps libs`) into
 * a directory of its own, so a test never clobbers `dist/` while someone
 * else builds. Links to `node_modules`, `prisma/` and `package.json` let the
 * compiled code resolve its packages, find its migrations and read its
 * version as from `dist/`. `also` names more source folders to compile
 * (test harnesses).
 */
export async function buildServer(also: string[] = []): Promise<{ dir: string; remove(): void }> {
  refuseInUnitTier('server build');
  const dir = mkdtempSync(join(tmpdir(), 'attestd-build-'));
  const swc = join(REPO, 'node_modules', '@swc', 'cli', 'bin', 'swc.js');
  await promisify(execFile)(
    process.execPath,
    [
      swc,
      'apps',
      'libs',
      ...also,
      '-d',
      dir,
      '--copy-files',
      '-q',
      '--ignore',
      '**/*.spec.ts',
      '--ignore',
      '**/*.test.ts',
    ],
    { cwd: REPO },
  );
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(REPO, 'prisma'), join(dir, 'prisma'));
  symlinkSync(join(REPO, 'package.json'), join(dir, 'package.json'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An empty database of its own on TEST_DATABASE_URL's server, or on the machine's PostgreSQL. */
export async function createSharedDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  refuseInUnitTier('database');
  const serverUrl = process.env.TEST_DATABASE_URL || DEFAULT_POSTGRES_URL;
  const name = `attestd_test_${randomBytes(6).toString('hex')}`;
  await runAsAdmin(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => runAsAdmin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** What `attestd` did when run to the end: its exit status and everything it wrote. */
export interface CommandRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `attestd` with `args` and only the environment given (plus
 * PATH), as a fresh shell would, and waits for it to exit: for starts that
 * must fail, and for `--help` and `--version`.
 */
export async function runServerCommand(
  buildDir: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<CommandRun> {
  const child = spawn(process.execPath, [join(buildDir, 'apps', 'server', 'main.js'), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let [stdout, stderr] = ['', ''];
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const status = await new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  return { status, stdout, stderr };
}

export interface ServerProcess {
  name: string;
  url: string;
  /** every JSON log line the process wrote so far */
  logs: Record<string, unknown>[];
  /** fetch against the process; a string body is sent as is, anything else as JSON */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string; headers?: Record<string, string> },
  ): Promise<Response>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  /** SIGTERM, then waits for the exit (SIGKILL if it hangs) */
  stop(): Promise<void>;
}

export interface ProcessOptions {
  name: string;
  buildDir: string;
  databaseUrl: string;
  dataDir: string;
  policiesDir: string;
  adminToken: string;
  /** more settings as environment variables (the AWS simulator's endpoints, for one) */
  env?: Record<string, string>;
}

/** Starts `apps/server/main` as a child process and waits until `/readyz` answers 200. */
export async function startServerProcess(options: ProcessOptions): Promise<ServerProcess> {
  refuseInUnitTier('server process');
  const child = spawn(process.execPath, [join(options.buildDir, 'apps', 'server', 'main.js')], {
    cwd: options.dataDir,
    env: {
      ...process.env,
      ATTESTD_LISTEN: '127.0.0.1:0',
      ATTESTD_DATA_DIR: options.dataDir,
      ATTESTD_POLICIES_DIR: options.policiesDir,
      ATTESTD_ADMIN_TOKENS: options.adminToken,
      ATTESTD_LOG_LEVEL: 'debug',
      ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '100000',
      ATTESTD_RATE_LIMIT_AGENT_BURST: '100000',
      DATABASE_URL: options.databaseUrl,
      ATTESTD_DATABASE_URL: options.databaseUrl,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const listening = new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = parseLogLine(line);
      if (!entry) return;
      logs.push(entry);
      if (entry.msg === 'attestd listening') done(String(entry.url));
    });
    void exited.then((code) => fail(new Error(`${options.name} exited with ${code} before listening:\n${stderr}`)));
  });
  const url = await listening;
  await waitUntilReady(url, exited);
  const call: ServerProcess['call'] = (method, path, { body, token, headers = {} } = {}) =>
    fetch(`${url}${path}`, {
      method,
      headers: {
        ...(body !== undefined && typeof body !== 'string' && { 'content-type': 'application/json' }),
        ...(token && { authorization: `Bearer ${token}` }),
        ...headers,
      },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  return {
    name: options.name,
    url,
    logs,
    call,
    admin: (method, path, body) =>
      call(method, path, { token: options.adminToken, ...(body !== undefined && { body }) }),
    stop: () => stopProcess(child, exited),
  };
}

function parseLogLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function waitUntilReady(url: string, exited: Promise<number | null>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`server at ${url} exited before it was ready`);
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  // A clean shutdown is quick; one that hangs must not keep the test run alive.
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}

export interface Replicas {
  servers: ServerProcess[];
  databaseUrl: string;
  adminToken: string;
  /** starts one more replica (stopped with the others) with these settings on top */
  startAnother(name: string, env?: Record<string, string>): Promise<ServerProcess>;
  stop(): Promise<void>;
}

/**
 * `count` server processes on one fresh PostgreSQL database, as the compose
 * file runs them: nothing shared but the database. They start one after the
 * other, so the first alone migrates and seeds the policies.
 */
export async function startReplicas(
  count: number,
  options: { policies: Record<string, string>; env?: Record<string, string> },
): Promise<Replicas> {
  const build = await buildServer();
  const database = await createSharedDatabase();
  const home = mkdtempSync(join(tmpdir(), 'attestd-replicas-'));
  const policiesDir = join(home, 'policies');
  mkdirSync(policiesDir);
  for (const [file, text] of Object.entries(options.policies)) writeFileSync(join(policiesDir, file), text);
  const adminToken = randomBytes(24).toString('base64url');
  // replicas seal and open the shared keys with one key-encryption key
  const env = { ATTESTD_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'), ...options.env };
  const servers: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await database.drop();
    rmSync(home, { recursive: true, force: true });
    build.remove();
  };
  const startAnother = async (name: string, more: Record<string, string> = {}) => {
    const dataDir = join(home, name);
    mkdirSync(dataDir);
    const server = await startServerProcess({
      name,
      buildDir: build.dir,
      databaseUrl: database.url,
      dataDir,
      policiesDir,
      adminToken,
      env: { ...env, ...more },
    });
    servers.push(server);
    return server;
  };
  try {
    for (let i = 0; i < count; i++) await startAnother(`replica-${String.fromCharCode(97 + i)}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { servers: [...servers], databaseUrl: database.url, adminToken, startAnother, stop };
}
