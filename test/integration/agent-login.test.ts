import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runLogin } from '@apps/agent/login';
import { newJoinToken } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';
import { temporaryDirectories } from '../support/temp-directories';

const tempDir = temporaryDirectories();

/** The reference agent against a real server: what a user runs on a node. */
describe('attestd-agent login --attestor join_token', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      policies: { 'lab.yaml': joinTokenPolicy({ template: '/lab/{{join_token.id}}' }) },
    });
  });
  afterAll(() => server?.stop());

  it('writes an SVID for its own key, the key (0600) and the bundle', async () => {
    const { id, token } = await newJoinToken(server);
    const out = join(tempDir('agent-'), 'svid');
    const summary = await runLogin({ server: server.url, attestors: ['join_token'], out, joinToken: token });
    expect(summary.spiffeId).toBe(`spiffe://example.org/lab/${id}`);
    expect(statSync(join(out, 'svid.key')).mode & 0o777).toBe(0o600);
    const svid = new X509Certificate(readFileSync(join(out, 'svid.pem')));
    expect(svid.checkPrivateKey(createPrivateKey(readFileSync(join(out, 'svid.key'))))).toBe(true);
    expect(svid.subjectAltName).toBe(`URI:${summary.spiffeId}`);
    expect(
      execFileSync('openssl', ['verify', '-CAfile', join(out, 'bundle.pem'), join(out, 'svid.pem')]).toString(),
    ).toMatch(/OK/);
  });

  it("fails with the server's reason when the token was already used", async () => {
    const { token } = await newJoinToken(server);
    const out = tempDir('agent-');
    await runLogin({ server: server.url, attestors: ['join_token'], out, joinToken: token });
    await expect(
      runLogin({ server: server.url, attestors: ['join_token'], out: join(out, 'again'), joinToken: token }),
    ).rejects.toThrow('login failed: 401 attestation_failed: join_token: token is unknown, expired or already used');
  });
});
