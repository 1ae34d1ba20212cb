import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority, generateCaKey, parseCsr } from '@libs/pki';
import { writeSvidFiles } from './files';
import { readHeldSvid } from './held-svid';
import { generateAgentKey } from './keys';

describe('readHeldSvid while a daemon replaces the files', () => {
  const made = generateCaKey('example.org', new Date(), 3600);
  const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
  let out: string;
  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'attestd-held-'));
  });
  afterEach(() => rm(out, { recursive: true, force: true }));

  async function svid(): Promise<{ certChain: string; privateKeyPem: string; serial: string }> {
    const key = await generateAgentKey();
    const issued = ca.issueX509Svid({
      spiffeId: 'spiffe://example.org/agent/a',
      subjectPublicKey: (await parseCsr(key.csrPem)).publicKey,
      ttlSeconds: 600,
      now: new Date(),
    });
    return { certChain: issued.chainPem, privateKeyPem: key.privateKeyPem, serial: issued.serialHex };
  }

  it('reads again when it finds the new key beside the old SVID, as between the two renames of a renewal', async () => {
    const old = await svid();
    const renewed = await svid();
    await writeSvidFiles(out, { ...old, bundle: made.certificatePem });
    await writeFile(join(out, 'svid.key'), renewed.privateKeyPem); // the key renamed, the SVID not yet
    let reads = 0;
    const held = await readHeldSvid(out, {
      between: async () => {
        reads += 1;
        await writeFile(join(out, 'svid.pem'), renewed.certChain); // ... and now the SVID
      },
    });
    expect(reads).toBe(1);
    expect(held.serial).toBe(renewed.serial);
  });

  it('gives up with the mismatch after its attempts', async () => {
    const old = await svid();
    await writeSvidFiles(out, { ...old, bundle: made.certificatePem });
    await writeFile(join(out, 'svid.key'), (await svid()).privateKeyPem);
    let waits = 0;
    await expect(readHeldSvid(out, { attempts: 3, between: async () => void (waits += 1) })).rejects.toThrow(
      /svid\.pem does not certify the key in .*svid\.key; log in again$/,
    );
    expect(waits).toBe(2);
  });
});
