import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { login, newJoinToken } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';
import {
  buildServer,
  createSharedDatabase,
  DEFAULT_POSTGRES_URL,
  runServerCommand,
  startServerProcess,
  type ServerProcess,
} from '../support/server-process';

const bundleOf = async (server: TestServer) => (await server.call('GET', '/v1/bundle')).text();
const linesOf = (server: TestServer, msg: RegExp) => server.logs.filter((l) => msg.test(String(l.msg)));
const VERSION = (
  JSON.parse(readFileSync(resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

describe('a server restarted on its data', () => {
  let server: TestServer;
  let bundle: string;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() } });
    bundle = await bundleOf(server);
  });
  afterAll(() => server?.stop());

  it('warns at start that an http JWT-SVID issuer will not do for AWS STS, naming the setting, and says nothing of admin tokens when one is set', () => {
    expect(linesOf(server, /^oidc: /)).toEqual([
      expect.objectContaining({
        level: 40,
        setting: 'jwtIssuer',
        variable: 'ATTESTD_JWT_ISSUER',
        msg: expect.stringMatching(/AWS STS .* https only: set jwtIssuer \(ATTESTD_JWT_ISSUER\)/),
      }),
    ]);
    expect(linesOf(server, /^admin: no admin token/)).toEqual([]);
  });

  it('stops in one line saying what to do when given another trust domain, and starts again with the old one and its CA', async () => {
    await expect(server.restart({ ATTESTD_TRUST_DOMAIN: 'other.example' })).rejects.toThrow(
      new Error(
        'trustDomain (ATTESTD_TRUST_DOMAIN): is "other.example", but the database holds the CA of trust domain "example.org" and a trust domain cannot change; ' +
          'set ATTESTD_TRUST_DOMAIN=example.org, or give "other.example" a database of its own',
      ),
    );
    server = await server.restart({ ATTESTD_JWT_ISSUER: 'https://attestd.example.org' });
    expect(await bundleOf(server)).toBe(bundle);
    const { token } = await newJoinToken(server);
    expect((await login(server, { join_token: { token } })).status).toBe(200);
    // an https issuer is what STS needs: no warning
    expect(linesOf(server, /^oidc: /)).toEqual([]);
    // the policy file is as it was seeded: nothing to say about it
    expect(linesOf(server, /^config: .*not applied/)).toEqual([]);
  });

  it('names the policy files that differ from the stored configuration and says how to apply them', async () => {
    const file = join(server.dataDir, 'policies', 'lab.yaml');
    // the same document written otherwise is not an edit
    server = await server.restart({}, async () => writeFileSync(file, `# reformatted\n${joinTokenPolicy()}`));
    expect(linesOf(server, /^config: .*not applied/)).toEqual([]);
    server = await server.restart({}, async () => writeFileSync(file, joinTokenPolicy({ svidTtl: '30m' })));
    expect(linesOf(server, /^config: .*not applied/)).toEqual([
      expect.objectContaining({
        level: 30,
        files: [file],
        msg: expect.stringMatching(/attestctl config apply -f FILE$/),
      }),
    ]);
    // the file was not applied: the stored version is still the only one
    const versions = (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as {
      items: unknown[];
    };
    expect(versions.items).toHaveLength(1);
  });
});

describe('attestd run as a command', () => {
  let build: Awaited<ReturnType<typeof buildServer>> | undefined;
  let home = '';
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'attestd-start-'));
    build = await buildServer();
  });
  afterAll(() => {
    build?.remove();
    if (home) rmSync(home, { recursive: true, force: true });
  });
  const dataDir = () => join(home, 'data');
  const run = (args: string[], env: Record<string, string> = {}) =>
    runServerCommand(
      build!.dir,
      args,
      {
        ATTESTD_LISTEN: '127.0.0.1:0',
        ATTESTD_DATA_DIR: dataDir(),
        ATTESTD_POLICIES_DIR: join(home, 'policies'),
        ...env,
      },
      home,
    );

  it('answers --help and --version without starting', async () => {
    const help = await run(['--help']);
    expect(help).toMatchObject({ status: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: attestd \[--config FILE\]\n/);
    expect(await run(['--version'])).toEqual({ status: 0, stdout: `attestd ${VERSION}\n`, stderr: '' });
    expect(existsSync(dataDir())).toBe(false);
  });

  it('names a misspelt variable and the one it most likely meant, in one line, before touching anything', async () => {
    expect(await run([], { ATTESTD_TRUST_DOMIAN: 'prod.example' })).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'attestd: invalid settings: ATTESTD_TRUST_DOMIAN: unknown variable (did you mean ATTESTD_TRUST_DOMAIN?)\n',
    });
    expect(existsSync(dataDir())).toBe(false);
  });

  it('names a misspelt nested key of the settings file', async () => {
    const file = join(home, 'attestd.yaml');
    writeFileSync(file, 'rateLimit:\n  agentPerSec: 10\n');
    expect(await run(['--config', file])).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'attestd: invalid settings: rateLimit.agentPerSec: unknown setting in the settings file (did you mean rateLimit.agentPerSecond?)\n',
    });
  });

  it('says in words what a list entry must be, naming the variable that exists and not the entry', async () => {
    const result = await run([], {
      ATTESTD_ADMIN_TOKENS: `${'a'.repeat(20)},viewer:short-secret`,
      ATTESTD_TRUSTED_PROXIES: '10.0.0.0/8,proxy.internal',
    });
    expect(result).toEqual({
      status: 2,
      stdout: '',
      stderr:
        'attestd: invalid settings: adminTokens (ATTESTD_ADMIN_TOKENS): entry 2 must be TOKEN or viewer:TOKEN, the token at least 16 characters without spaces or colons; ' +
        'trustedProxies (ATTESTD_TRUSTED_PROXIES): entry 2 must be an IP address or CIDR, such as 10.0.0.0/8\n',
    });
  });

  it.each([
    [
      'no server listens',
      (password: string) => `postgresql://attestd:${password}@127.0.0.1:1/attestd`,
      /connect ECONNREFUSED 127\.0\.0\.1:1$/,
    ],
    [
      'the database does not exist',
      (password: string) =>
        withPath(process.env.TEST_DATABASE_URL || DEFAULT_POSTGRES_URL, password, '/attestd_missing'),
      /database "attestd_missing" does not exist$/,
    ],
  ])('names DATABASE_URL, never its password, when %s', async (_case, url, cause) => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const result = await run([], {
      DATABASE_URL: url(password),
      ATTESTD_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^attestd: databaseUrl \(DATABASE_URL or ATTESTD_DATABASE_URL\): cannot use postgresql:\/\/[^:@/]+:\*\*\*@[^\n]+\n$/,
    );
    expect(result.stderr.trimEnd()).toMatch(cause);
    expect(result.stdout + result.stderr).not.toContain(password);
  });

  it('names policiesDir when a file there cannot seed the database, in one line', async () => {
    mkdirSync(join(home, 'policies'));
    writeFileSync(join(home, 'policies', 'typo.yaml'), 'section: AgentAttestaton\nschema: v1\nspec: {}\n');
    const result = await run([]);
    rmSync(join(home, 'policies'), { recursive: true });
    rmSync(dataDir(), { recursive: true, force: true });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `attestd: policiesDir (ATTESTD_POLICIES_DIR): ${join(home, 'policies', 'typo.yaml')} names no known section (expected one of AgentAttestation, AwsIidCertificates, KubernetesClusters)\n`,
    );
  });
});

describe('attestd on PostgreSQL, run as a command', () => {
  const kek = randomBytes(32).toString('base64');
  let build: Awaited<ReturnType<typeof buildServer>> | undefined;
  let database: Awaited<ReturnType<typeof createSharedDatabase>> | undefined;
  let home = '';
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'attestd-start-pg-'));
    mkdirSync(join(home, 'policies'));
    build = await buildServer();
    database = await createSharedDatabase();
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    build?.remove();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('warns at start that no admin token exists, and logs its shutdown', async () => {
    server = await startServerProcess({
      name: 'no-token',
      buildDir: build!.dir,
      databaseUrl: database!.url,
      dataDir: home,
      policiesDir: join(home, 'policies'),
      adminToken: '',
      env: { ATTESTD_KEY_ENCRYPTION_KEY: kek },
    });
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: expect.stringMatching(/^admin: no admin token.*set ATTESTD_ADMIN_TOKENS/),
      }),
    );
    await server.stop();
    expect(server.logs.slice(-2)).toEqual([
      expect.objectContaining({ level: 30, msg: 'attestd shutting down', signal: 'SIGTERM' }),
      expect.objectContaining({ level: 30, msg: 'attestd stopped' }),
    ]);
  });

  /**
   * Runs the built server with `setup` preloaded, stops it, and returns what
   * the expression `report` held when it was told to stop (once: the server
   * re-raises the signal to exit).
   */
  async function reportedAtStop(name: string, setup: string, report: string): Promise<unknown> {
    const preload = join(home, `${name}.cjs`);
    const out = join(home, `${name}.json`);
    writeFileSync(
      preload,
      `${setup}\nprocess.once('SIGTERM', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(${report})));`,
    );
    server = await startServerProcess({
      name,
      buildDir: build!.dir,
      databaseUrl: database!.url,
      dataDir: home,
      policiesDir: join(home, 'policies'),
      adminToken: randomBytes(24).toString('base64url'),
      env: { ATTESTD_KEY_ENCRYPTION_KEY: kek, NODE_OPTIONS: `--require ${preload}` },
    });
    await server.stop();
    return JSON.parse(readFileSync(out, 'utf8'));
  }

  it('carries no cloud SDK while no login has asked the cloud', async () => {
    // the packages the process loaded
    const loaded = (await reportedAtStop('no-cloud', '', 'Object.keys(require.cache)')) as string[];
    const packages = loaded.flatMap((path) => /node_modules\/(@[^/]+\/[^/]+|[^@/][^/]*)\//.exec(path)?.[1] ?? []);
    expect(packages).toContain('@nestjs/core');
    expect(
      [...new Set(packages)].filter((name) => /^@aws-sdk\/client-|^@azure\/(arm-|identity|msal)/.test(name)),
    ).toEqual([]);
  });

  it('lets V8 grow the old generation to three times its live heap', async () => {
    // the V8 flags the process set on itself
    const flags = await reportedAtStop(
      'heap-growth',
      `const v8 = require('node:v8'); const set = v8.setFlagsFromString; const flags = [];
       v8.setFlagsFromString = (flag) => { flags.push(flag); set(flag); };`,
      'flags',
    );
    expect(flags).toEqual(['--heap-growing-percent=200']);
  });

  it('refuses to start on the CA of another trust domain, in one line and with the setting error status', async () => {
    const env = {
      DATABASE_URL: database!.url,
      ATTESTD_KEY_ENCRYPTION_KEY: kek,
      ATTESTD_TRUST_DOMAIN: 'other.example',
      ATTESTD_LOG_LEVEL: 'warn',
    };
    const result = await runServerCommand(
      build!.dir,
      [],
      { ATTESTD_LISTEN: '127.0.0.1:0', ATTESTD_DATA_DIR: home, ATTESTD_POLICIES_DIR: join(home, 'policies'), ...env },
      home,
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'attestd: trustDomain (ATTESTD_TRUST_DOMAIN): is "other.example", but the database holds the CA of trust domain "example.org" and a trust domain cannot change; ' +
        'set ATTESTD_TRUST_DOMAIN=example.org, or give "other.example" a database of its own\n',
    );
  });
});

/** `url` with a password and another database. */
function withPath(url: string, password: string, path: string): string {
  const parsed = new URL(url);
  parsed.username ||= 'attestd';
  parsed.password = password;
  parsed.pathname = path;
  return parsed.toString();
}
