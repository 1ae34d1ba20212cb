import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority, generateCaKey, parseCsr } from '@libs/pki';
import { writeSvidFiles } from './files';
import { generateAgentKey } from './keys';
import { resumeFrom } from './resume';
import { serializeAgentState } from './state';

const SPIFFE_ID = 'spiffe://example.org/agent/node-1';
const AGENT = { agentId: '00000000-0000-4000-8000-000000000001', spiffeId: SPIFFE_ID, reattestable: true };

describe('resumeFrom: what a restarted daemon finds in --out', () => {
  const made = generateCaKey('example.org', new Date(), 3600);
  const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
  let out: string;
  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'attestd-resume-'));
  });
  afterEach(() => rm(out, { recursive: true, force: true }));

  async function writeLogin(state = serializeAgentState(AGENT)): Promise<string> {
    const key = await generateAgentKey();
    const issued = ca.issueX509Svid({
      spiffeId: SPIFFE_ID,
      subjectPublicKey: (await parseCsr(key.csrPem)).publicKey,
      ttlSeconds: 600,
      now: new Date(),
    });
    await writeSvidFiles(out, {
      certChain: issued.chainPem,
      privateKeyPem: key.privateKeyPem,
      bundle: made.certificatePem,
      state,
    });
    return issued.serialHex;
  }

  it('logs in when the directory holds no SVID, or does not exist', async () => {
    expect(await resumeFrom(out)).toEqual({ kind: 'login', recovery: { removed: 0 }, warnings: [] });
    expect(await resumeFrom(join(out, 'missing'))).toMatchObject({ kind: 'login', warnings: [] });
  });

  it('resumes from the SVID, its key and agent.json', async () => {
    const serial = await writeLogin();
    expect(await resumeFrom(out)).toMatchObject({
      kind: 'resume',
      held: { spiffeId: SPIFFE_ID, serial },
      agent: AGENT,
      warnings: [],
    });
  });

  it('resumes without knowing the agent when agent.json is missing (an older agent wrote the directory)', async () => {
    await writeLogin();
    await unlink(join(out, 'agent.json'));
    const found = await resumeFrom(out);
    expect(found).toMatchObject({ kind: 'resume', warnings: [] });
    expect(found).not.toHaveProperty('agent');
  });

  it('resumes without the agent, and says so, when agent.json is not ours or names another SPIFFE ID', async () => {
    await writeLogin('{"agentId": 1}');
    const garbled = await resumeFrom(out);
    expect(garbled).toMatchObject({
      kind: 'resume',
      warnings: [
        expect.stringMatching(/agent\.json: not an agent state file .*; the agent ID is unknown until the next login$/),
      ],
    });
    expect(garbled).not.toHaveProperty('agent');

    await writeFile(
      join(out, 'agent.json'),
      serializeAgentState({ ...AGENT, spiffeId: 'spiffe://example.org/agent/other' }),
    );
    expect(await resumeFrom(out)).toMatchObject({
      kind: 'resume',
      warnings: [
        expect.stringMatching(
          /is for spiffe:\/\/example\.org\/agent\/other, not spiffe:\/\/example\.org\/agent\/node-1/,
        ),
      ],
    });
  });

  it('logs in, saying why, when the SVID and key on disk do not belong together', async () => {
    await writeLogin();
    await writeFile(join(out, 'svid.key'), (await generateAgentKey()).privateKeyPem);
    expect(await resumeFrom(out)).toMatchObject({
      kind: 'login',
      warnings: [
        expect.stringMatching(
          /^cannot resume from .*: .*svid\.pem does not certify the key in .*svid\.key; log in again; logging in$/,
        ),
      ],
    });
  });
});
