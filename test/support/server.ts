import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Attestor } from '@libs/attestors/attestor';
import { createLogger } from '@apps/server/logging/logger';
import { startServer, type RunningServer } from '@apps/server/server';
import { loadSettings } from '@apps/server/settings/settings';
import { createScratchDatabase } from './database';
import { copyMigratedPglite } from './pglite-template';
import { refuseInUnitTier } from './tier';

export interface TestServer {
  url: string;
  adminToken: string;
  viewerToken: string;
  /** the scratch database's URL when the tests run on a PostgreSQL server */
  databaseUrl?: string;
  /** `ATTESTD_DATA_DIR`: the embedded database and its key-encryption key live here */
  dataDir: string;
  /** every JSON log line the server wrote */
  logs: Record<string, unknown>[];
  server: RunningServer;
  /** fetch against the server; JSON bodies are stringified */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string; headers?: Record<string, string> },
  ): Promise<Response>;
  /** same, with the admin token */
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  /** stops this server and starts another on the same data and database, with extra settings; `between` runs while none is running */
  restart(env?: Record<string, string>, between?: () => Promise<void>): Promise<TestServer>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** policy files written to the policies directory, by file name */
  policies?: Record<string, string>;
  env?: Record<string, string>;
  additionalAttestors?: Attestor[];
  /** the embedded database even when TEST_DATABASE_URL names a server: for tests of the embedded mode's own files */
  embedded?: boolean;
}

/** The data a test server keeps across restarts. */
interface Home {
  dir: string;
  policiesDir: string;
  database: { url?: string; drop(): Promise<void> };
  adminToken: string;
  viewerToken: string;
  /** given on PostgreSQL, which requires one; the embedded database makes its own in the data directory */
  keyEncryptionKey: string;
}

/**
 * A real attestd on a random port: embedded PGlite in a temporary directory,
 * or a fresh database on TEST_DATABASE_URL's server when that is set.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  refuseInUnitTier('server');
  const dir = mkdtempSync(join(tmpdir(), 'attestd-test-'));
  const policiesDir = join(dir, 'policies');
  mkdirSync(policiesDir);
  for (const [name, text] of Object.entries(options.policies ?? {})) writeFileSync(join(policiesDir, name), text);
  const home: Home = {
    dir,
    policiesDir,
    database: options.embedded ? { drop: async () => undefined } : await createScratchDatabase(),
    adminToken: randomBytes(24).toString('base64url'),
    viewerToken: randomBytes(24).toString('base64url'),
    keyEncryptionKey: randomBytes(32).toString('base64'),
  };
  try {
    // not for tests of the embedded mode's own files, which the server must make
    if (!home.database.url && !options.embedded) await copyMigratedPglite(join(dir, 'pglite'));
    return await launch(home, options);
  } catch (error) {
    // a start the test expects to fail leaves nothing behind
    await home.database.drop();
    rmSync(home.dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(home: Home, options: TestServerOptions): Promise<TestServer> {
  const env: Record<string, string> = {
    ATTESTD_LISTEN: '127.0.0.1:0',
    ATTESTD_DATA_DIR: home.dir,
    ATTESTD_POLICIES_DIR: home.policiesDir,
    ATTESTD_ADMIN_TOKENS: `${home.adminToken},viewer:${home.viewerToken}`,
    ATTESTD_LOG_LEVEL: 'debug',
    // the tests fire bursts from one address; the rate-limit test sets its own
    ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '100000',
    ATTESTD_RATE_LIMIT_AGENT_BURST: '100000',
    ...(home.database.url && { DATABASE_URL: home.database.url }),
    // the AWS SDK's variables the server reads through its settings, as main
    // does from process.env (where the AWS testbed sets them)
    ...(process.env.AWS_REGION !== undefined && { AWS_REGION: process.env.AWS_REGION }),
    ...(process.env.AWS_ENDPOINT_URL_STS !== undefined && { AWS_ENDPOINT_URL_STS: process.env.AWS_ENDPOINT_URL_STS }),
    ...options.env,
  };
  if (env.DATABASE_URL && env.ATTESTD_KEY_ENCRYPTION_KEY === undefined)
    env.ATTESTD_KEY_ENCRYPTION_KEY = home.keyEncryptionKey;
  const settings = loadSettings(env);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const server = await startServer(settings, createLogger('debug', sink), {
    additionalAttestors: options.additionalAttestors ?? [],
  });
  const call: TestServer['call'] = (method, path, { body, token, headers = {} } = {}) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(body !== undefined && typeof body !== 'string' && { 'content-type': 'application/json' }),
        ...(token && { authorization: `Bearer ${token}` }),
        ...headers,
      },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  return {
    url: server.url,
    ...(home.database.url && { databaseUrl: home.database.url }),
    dataDir: home.dir,
    adminToken: home.adminToken,
    viewerToken: home.viewerToken,
    logs,
    server,
    call,
    admin: (method, path, body) => call(method, path, { token: home.adminToken, ...(body !== undefined && { body }) }),
    async restart(env = {}, between) {
      await server.close();
      await between?.();
      return launch(home, { ...options, env: { ...options.env, ...env } });
    },
    async stop() {
      await server.close();
      await home.database.drop();
      rmSync(home.dir, { recursive: true, force: true });
    },
  };
}
