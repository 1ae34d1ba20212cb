import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main';
import { startFakeAttestd, type FakeAttestd } from './testing/fake-attestd';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const status = await main(argv, env, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  });
  return { status, stdout, stderr };
}

describe('attestd-agent main', () => {
  let fake: FakeAttestd;
  let out: string;
  beforeEach(async () => {
    fake = await startFakeAttestd({ joinTokens: { T: 'tok-1' } });
    out = await mkdtemp(join(tmpdir(), 'attestd-agent-main-'));
  });
  afterEach(async () => {
    await fake.close();
    await rm(out, { recursive: true, force: true });
  });

  it('prints the usage for --help and exits 0', async () => {
    const result = await run(['--help']);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/^usage: attestd-agent login --server URL --attestor NAME/);
    expect(result.stdout).toContain('--token TOKEN');
  });

  it("prints one command's page for COMMAND --help", async () => {
    const result = await run(['jwt', '--help']);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/^usage: attestd-agent jwt --server URL/);
    expect(result.stdout).not.toContain('--attestor');
  });

  it("prints package.json's version for --version", async () => {
    const { version } = JSON.parse(await readFile(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(await run(['--version'])).toEqual({ status: 0, stdout: `attestd-agent ${version}\n`, stderr: '' });
  });

  it('prints every usage problem prefixed on stderr and exits 2', async () => {
    const result = await run(['login', '--attestor', 'join_token']);
    expect(result).toEqual({
      status: 2,
      stdout: '',
      stderr: [
        'attestd-agent: --server is required',
        'attestd-agent: --out is required',
        'attestd-agent: --attestor join_token needs --token or ATTESTD_JOIN_TOKEN',
        "run 'attestd-agent --help' for usage",
        '',
      ].join('\n'),
    });
  });

  it('logs in, prints a summary and exits 0', async () => {
    const result = await run(['login', '--server', fake.url, '--attestor', 'join_token', '--out', out], {
      ATTESTD_JOIN_TOKEN: 'T',
    });
    const issued = fake.issued[0]!;
    expect(result).toEqual({
      status: 0,
      stdout: `logged in as spiffe://example.org/agent/join_token/tok-1 (agent ${issued.agentId}), SVID expires ${issued.svid.expiresAt}; wrote ${out}\n`,
      stderr: '',
    });
    expect((await readdir(out)).sort()).toEqual(['agent.json', 'bundle.pem', 'svid.key', 'svid.pem']);
  });

  it('prints a failed login on stderr and exits 1', async () => {
    const result = await run([
      'login',
      '--server',
      fake.url,
      '--attestor',
      'join_token',
      '--token',
      'wrong',
      '--out',
      out,
    ]);
    expect(result).toEqual({
      status: 1,
      stdout: '',
      stderr:
        'attestd-agent: login failed: 401 attestation_failed: join_token: token is unknown, expired or already used\n',
    });
    expect(await readdir(out)).toEqual([]);
  });

  it('never prints the token', async () => {
    const result = await run([
      'login',
      '--server',
      fake.url,
      '--attestor',
      'join_token',
      '--token',
      'sekrit',
      '--out',
      out,
    ]);
    expect(result.stdout + result.stderr).not.toContain('sekrit');
  });
});
