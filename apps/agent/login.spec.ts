import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pkcs10CertificateRequest, X509Certificate } from '@peculiar/x509';
import { AgentApiError, ServerUnreachableError } from './client';
import { generateAgentKey } from './keys';
import { LoginError, runLogin, type LoginOptions } from './login';
import type { CollectContext, ProofCollector } from './proofs/collector';
import { CollectorSettingsError } from './proofs/collector';
import { createCollector } from './proofs/index';
import { issueSvid, startFakeAttestd, type FakeAttestd, type FakeAttestdOptions } from './testing/fake-attestd';

interface CompleteBody {
  proofs: Record<string, unknown>;
  csr: string;
}

describe('runLogin', () => {
  let fake: FakeAttestd;
  let root: string;
  let out: string;
  const start = async (options: FakeAttestdOptions = {}) => {
    fake = await startFakeAttestd({ joinTokens: { T: 'tok-1' }, ...options });
  };
  const options = (extra: Partial<LoginOptions> = {}): LoginOptions => ({
    server: fake.url,
    attestors: ['join_token'],
    joinToken: 'T',
    out,
    ...extra,
  });
  const completeBody = () => fake.requests[1]!.body as CompleteBody;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'attestd-agent-login-'));
    out = join(root, 'out');
  });
  afterEach(async () => {
    await fake?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('logs in with a join token and writes the SVID, its key, the bundle and who the agent is', async () => {
    await start();
    const summary = await runLogin(options());

    const issued = fake.issued[0]!;
    expect(summary).toEqual({
      agentId: issued.agentId,
      spiffeId: 'spiffe://example.org/agent/join_token/tok-1',
      policy: 'fake_policy',
      expiresAt: issued.svid.expiresAt,
      reattestable: false,
      files: {
        dir: out,
        svid: join(out, 'svid.pem'),
        key: join(out, 'svid.key'),
        bundle: join(out, 'bundle.pem'),
        state: join(out, 'agent.json'),
      },
    });
    expect(await readFile(summary.files.svid, 'utf8')).toBe(issued.svid.certChain);
    expect(JSON.parse(await readFile(join(out, 'agent.json'), 'utf8'))).toEqual({
      agentId: issued.agentId,
      spiffeId: issued.spiffeId,
      reattestable: false,
    });
    expect(await readFile(summary.files.bundle, 'utf8')).toBe(issued.bundle);
    expect((await stat(summary.files.key)).mode & 0o777).toBe(0o600);
    expect((await stat(out)).mode & 0o777).toBe(0o700);
  });

  it('sends the provided methods, then the join_token proof and a PEM CSR', async () => {
    await start();
    await runLogin(options());

    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /v1/agent/login',
      expect.stringMatching(/^POST \/v1\/agent\/login\/[^/]+\/complete$/),
    ]);
    expect(fake.requests[0]!.body).toEqual({ providedMethods: ['join_token'] });
    const body = completeBody();
    expect(Object.keys(body).sort()).toEqual(['csr', 'proofs']);
    expect(body.proofs).toEqual({ join_token: { token: 'T' } });
    expect(body.csr).toMatch(
      /^-----BEGIN CERTIFICATE REQUEST-----\r?\n[\s\S]+-----END CERTIFICATE REQUEST-----\r?\n?$/,
    );
    expect(await new Pkcs10CertificateRequest(body.csr).verify(webcrypto)).toBe(true);
  });

  it('writes the key of the CSR, which the SVID certifies', async () => {
    await start();
    const summary = await runLogin(options());
    const keyPem = await readFile(summary.files.key, 'utf8');
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const spki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    const leaf = new X509Certificate(await readFile(summary.files.svid, 'utf8'));
    expect(Buffer.from(leaf.publicKey.rawData).equals(spki)).toBe(true);
    const csr = new Pkcs10CertificateRequest(completeBody().csr);
    expect(Buffer.from(csr.publicKey.rawData).equals(spki)).toBe(true);
  });

  it('makes a new key on every login', async () => {
    await start({ joinTokens: { T: 'tok-1', U: 'tok-2' } });
    await runLogin(options());
    const first = await readFile(join(out, 'svid.key'), 'utf8');
    await runLogin(options({ joinToken: 'U' }));
    expect(await readFile(join(out, 'svid.key'), 'utf8')).not.toBe(first);
    expect((await readdir(out)).sort()).toEqual(['agent.json', 'bundle.pem', 'svid.key', 'svid.pem']);
  });

  it('surfaces a 401 problem as an AgentApiError and writes nothing', async () => {
    await start();
    await runLogin(options());
    await rm(out, { recursive: true });

    const error = await runLogin(options()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentApiError);
    expect(error).toMatchObject({
      status: 401,
      code: 'attestation_failed',
      detail: 'join_token: token is unknown, expired or already used',
      message: 'login failed: 401 attestation_failed: join_token: token is unknown, expired or already used',
    });
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('surfaces no_policy_for_methods and never sends a proof', async () => {
    await start({ policyRequires: ['aws_iid'] });
    await expect(runLogin(options())).rejects.toMatchObject({ status: 403, code: 'no_policy_for_methods' });
    expect(fake.requests).toHaveLength(1);
  });

  it('passes each collector the challenge the server issued for its type', async () => {
    await start({ bindsChallenge: ['join_token'] });
    const contexts: CollectContext[] = [];
    await runLogin(options(), {
      createCollector: (name, settings) => {
        const real = createCollector(name, settings);
        return { type: real.type, collect: (ctx) => (contexts.push(ctx), real.collect(ctx)) };
      },
    });
    const login = fake.requests[0]!;
    expect(login.path).toBe('/v1/agent/login');
    expect(contexts).toEqual([{ challenge: expect.stringMatching(/^[A-Za-z0-9_-]{16,}$/) }]);
  });

  it('gives no challenge to a collector the server issued none for', async () => {
    await start();
    const contexts: CollectContext[] = [];
    await runLogin(options(), {
      createCollector: (name, settings) => {
        const real = createCollector(name, settings);
        return { type: real.type, collect: (ctx) => (contexts.push(ctx), real.collect(ctx)) };
      },
    });
    expect(contexts).toEqual([{}]);
  });

  it('offers every attestor but sends only the proofs the server requires', async () => {
    await start();
    const extra: ProofCollector = {
      type: 'test_extra',
      collect: () => Promise.reject(new Error('must not be collected')),
    };
    await runLogin(options({ attestors: ['test_extra', 'join_token'] }), {
      createCollector: (name, settings) => (name === 'test_extra' ? extra : createCollector(name, settings)),
    });
    expect(fake.requests[0]!.body).toEqual({ providedMethods: ['test_extra', 'join_token'] });
    expect(completeBody().proofs).toEqual({ join_token: { token: 'T' } });
  });

  it('refuses when the server requires an attestor that was not offered', async () => {
    await start({
      intercept: (route) =>
        route === 'login'
          ? {
              status: 200,
              body: { loginId: 'l', expiresAt: 'e', requiredAttestors: ['aws_iid', 'join_token'], challenges: {} },
            }
          : undefined,
    });
    await expect(runLogin(options())).rejects.toThrow(
      new LoginError('login: server requires attestors that were not offered: aws_iid'),
    );
    expect(fake.requests).toHaveLength(1);
  });

  it('names the attestor when collecting its proof fails, and does not complete', async () => {
    await start();
    const failing: ProofCollector = { type: 'join_token', collect: () => Promise.reject(new Error('file not found')) };
    await expect(runLogin(options(), { createCollector: () => failing })).rejects.toThrow(
      'login: cannot collect proof: join_token: file not found',
    );
    expect(fake.requests).toHaveLength(1);
  });

  it('fails on incomplete collector settings before contacting the server', async () => {
    await start();
    await expect(runLogin(options({ joinToken: undefined }))).rejects.toThrow(CollectorSettingsError);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses an SVID issued for another key, and writes nothing', async () => {
    const other = await generateAgentKey();
    await start({
      intercept: async (route) => {
        if (route !== 'complete') return undefined;
        const svid = await issueSvid(fake.ca, other.csrPem, 'spiffe://example.org/agent/x');
        return {
          status: 200,
          body: {
            agentId: 'a',
            spiffeId: 'spiffe://example.org/agent/x',
            policy: 'p',
            attributes: {},
            selectors: [],
            svid,
            bundle: 'b',
          },
        };
      },
    });
    await expect(runLogin(options())).rejects.toThrow(
      new LoginError('login: the server returned an SVID for another key than the CSR’s'),
    );
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses an SVID chain that holds no certificate', async () => {
    await start({
      intercept: (route) =>
        route === 'complete'
          ? {
              status: 200,
              body: {
                agentId: 'a',
                spiffeId: 's',
                policy: 'p',
                attributes: {},
                selectors: [],
                svid: { certChain: 'junk', expiresAt: 'e' },
                bundle: 'b',
              },
            }
          : undefined,
    });
    await expect(runLogin(options())).rejects.toThrow("login: the server's SVID is unreadable");
  });

  it('reports an unreachable server by its URL', async () => {
    await start();
    const url = fake.url;
    await fake.close();
    const error = await runLogin(options({ server: url })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect((error as Error).message).toMatch(`cannot reach attestd at ${url}`);
  });
});
