import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { joinTokenPolicy } from '../support/policies';
import { buildServer } from '../support/server-process';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The CLIs as operators install them: `scripts/build-cli.mts` (what
 * `npm run build:cli` runs) bundles each into one file, which runs here from
 * a directory with no node_modules anywhere above it, on Node alone.
 */

const ROOT = join(__dirname, '..', '..');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const run = promisify(execFile);

/**
 * Budgets the bundles must stay under. The agent replaces a checkout of
 * about 926 MB (node_modules and all); the target is under 10% of
 * that, and these budgets keep a new dependency from creeping towards it
 * unnoticed (the bundles are about 1.5 and 0.8 MiB today).
 */
const BUDGET_BYTES = { 'attestd-agent': 4 * 1024 * 1024, attestctl: 2 * 1024 * 1024 } as const;
type Cli = keyof typeof BUDGET_BYTES;

interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

describe('the bundled CLIs', () => {
  let outdir: string;
  const bundle = (cli: Cli) => join(outdir, `${cli}.js`);

  /** Runs a bundle with Node 24 and nothing but the environment given. */
  async function cli(name: Cli, args: string[], env: Record<string, string> = {}): Promise<Result> {
    try {
      const { stdout, stderr } = await run(process.execPath, [bundle(name), ...args], {
        cwd: outdir,
        env: { PATH: process.env.PATH ?? '', ...env },
      });
      return { status: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: unknown; stdout?: string; stderr?: string };
      if (typeof failed.code !== 'number') throw error;
      return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'attestd-cli-'));
    await run(process.execPath, [join(ROOT, 'scripts', 'build-cli.mts'), '--outdir', outdir], { cwd: ROOT });
  }, 120_000);
  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  it.each(Object.entries(BUDGET_BYTES))('builds %s into one executable file within its budget', (name, budget) => {
    const { size, mode } = statSync(bundle(name as Cli));
    expect({ name, size, withinBudget: size <= budget }).toEqual({ name, size, withinBudget: true });
    expect(mode & 0o111).toBe(0o111);
    expect(readFileSync(bundle(name as Cli), 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
  });

  it.each(['attestd-agent', 'attestctl'] as const)("%s --version prints package.json's version", async (name) => {
    expect(await cli(name, ['--version'])).toEqual({ status: 0, stdout: `${name} ${version}\n`, stderr: '' });
  });

  it.each([
    ['attestd-agent', ['--help'], /^usage: attestd-agent login /],
    ['attestd-agent', ['login', '--help'], /^usage: attestd-agent login --server URL --attestor NAME/],
    ['attestd-agent', ['jwt', '--help'], /^usage: attestd-agent jwt --server URL --out DIR --audience AUD/],
    ['attestctl', ['--help'], /^usage: attestctl \[--server URL\]/],
    ['attestctl', ['agents', '--help'], /^usage: attestctl \[global flags\] agents COMMAND/],
    ['attestctl', ['config', 'apply', '--help'], /^usage: attestctl \[global flags\] config apply -f FILE/],
  ] as const)('%s %j prints its usage', async (name, args, firstLine) => {
    const result = await cli(name, [...args]);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(firstLine);
  });

  it('reports a usage error with exit status 2', async () => {
    expect(await cli('attestd-agent', ['login', '--attestor', 'nope'])).toMatchObject({
      status: 2,
      stdout: '',
      stderr: expect.stringContaining('attestd-agent: unknown attestor "nope"'),
    });
  });

  it('validates policy files offline with the bundled policy library', async () => {
    const good = join(outdir, 'lab.yaml');
    const bad = join(outdir, 'typo.yaml');
    writeFileSync(good, joinTokenPolicy());
    writeFileSync(bad, joinTokenPolicy({ template: '/lab/{{join_token.idd}}' }));
    expect(await cli('attestctl', ['config', 'validate', '-f', good, '--offline'])).toEqual({
      status: 0,
      stdout: `${good}: valid AgentAttestation document (offline, built-in attestors)\n`,
      stderr: '',
    });
    const refused = await cli('attestctl', ['config', 'validate', '-f', bad, '--offline']);
    expect(refused).toMatchObject({ status: 1, stdout: '' });
    expect(refused.stderr).toMatch(new RegExp(`^${bad}:\\d+:\\d+ .*unknown attribute join_token\\.idd`, 'm'));
  });

  describe('against a real server', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({
        policies: { 'lab.yaml': joinTokenPolicy({ template: '/lab/{{join_token.id}}' }) },
      });
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
    });

    it('makes a join token with attestctl, logs in with attestd-agent, and mints a JWT-SVID from the files it wrote', async () => {
      const admin = { ATTESTD_SERVER: server.url, ATTESTD_TOKEN: server.adminToken };
      const created = await cli('attestctl', ['join-token', 'create', '--ttl', '10m', '-o', 'json'], admin);
      expect(created).toMatchObject({ status: 0, stderr: '' });
      const { token, id } = JSON.parse(created.stdout) as { token: string; id: string };

      const svidDir = join(outdir, 'svid');
      const login = await cli(
        'attestd-agent',
        ['login', '--server', server.url, '--attestor', 'join_token', '--out', svidDir],
        { ATTESTD_JOIN_TOKEN: token },
      );
      expect(login).toMatchObject({
        status: 0,
        stderr: '',
        stdout: expect.stringContaining(`logged in as spiffe://example.org/lab/${id}`),
      });
      const svid = new X509Certificate(readFileSync(join(svidDir, 'svid.pem')));
      const bundlePem = readFileSync(join(svidDir, 'bundle.pem'), 'utf8');
      const authorities = bundlePem
        .match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!
        .map((pem) => new X509Certificate(pem));
      expect(authorities.some((ca) => svid.verify(ca.publicKey))).toBe(true);
      expect(statSync(join(svidDir, 'svid.key')).mode & 0o777).toBe(0o600);

      const jwt = await cli('attestd-agent', [
        'jwt',
        '--server',
        server.url,
        '--out',
        svidDir,
        '--audience',
        'sts.amazonaws.com',
      ]);
      expect(jwt).toMatchObject({ status: 0, stderr: '' });
      const claims = JSON.parse(Buffer.from(jwt.stdout.trim().split('.')[1]!, 'base64url').toString('utf8')) as {
        sub: string;
        aud: unknown;
      };
      expect(claims).toMatchObject({ sub: `spiffe://example.org/lab/${id}` });

      const agents = await cli('attestctl', ['agents', 'list', '-o', 'json'], admin);
      expect(agents.status).toBe(0);
      expect(
        (JSON.parse(agents.stdout) as { items: { spiffeId: string }[] }).items.map((agent) => agent.spiffeId),
      ).toContain(`spiffe://example.org/lab/${id}`);
    });
  });
});

describe('attestd --help and --version', () => {
  let build: { dir: string; remove(): void } | undefined;
  beforeAll(async () => {
    build = await buildServer();
  }, 120_000);
  afterAll(() => build?.remove());

  /** Runs the compiled server with a preload that writes the modules it loaded to a file. */
  async function serverWith(args: string[]): Promise<{ stdout: string; modules: string[] }> {
    const dir = mkdtempSync(join(tmpdir(), 'attestd-modules-'));
    try {
      const list = join(dir, 'modules.json');
      const preload = join(dir, 'record.js');
      writeFileSync(
        preload,
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(Object.keys(require.cache))));\n`,
      );
      const { stdout } = await run(
        process.execPath,
        ['--require', preload, join(build!.dir, 'apps', 'server', 'main.js'), ...args],
        { cwd: dir },
      );
      return { stdout, modules: JSON.parse(readFileSync(list, 'utf8')) as string[] };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('prints the usage without loading NestJS, Prisma or the server', async () => {
    const { stdout, modules } = await serverWith(['--help']);
    expect(stdout).toMatch(/^usage: attestd \[--config FILE\]/);
    expect(
      modules.filter((path) =>
        /node_modules\/(@nestjs|@prisma|@aws-sdk|fastify)\/|apps\/server\/server\.js$/.test(path),
      ),
    ).toEqual([]);
  });

  it("prints package.json's version, loading no more", async () => {
    const { stdout, modules } = await serverWith(['--version']);
    expect(stdout).toBe(`attestd ${version}\n`);
    expect(modules.filter((path) => path.includes('/node_modules/'))).toEqual([]);
  });
});
