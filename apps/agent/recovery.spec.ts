import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority, generateCaKey, parseCsr } from '@libs/pki';
import { writeSvidFiles, type SvidMaterial } from './files';
import { readHeldSvid } from './held-svid';
import { generateAgentKey } from './keys';
import { finishInterruptedWrite } from './recovery';
import { serializeAgentState } from './state';

const SPIFFE_ID = 'spiffe://example.org/agent/node-1';

describe('finishInterruptedWrite: the agent files after a crash', () => {
  const made = generateCaKey('example.org', new Date(), 3600);
  const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
  let out: string;
  let first: SvidMaterial & { serial: string };
  beforeEach(async () => {
    out = await mkdtemp(join(tmpdir(), 'attestd-recovery-'));
    first = await svidSet(0);
    await writeSvidFiles(out, first);
  });
  afterEach(() => rm(out, { recursive: true, force: true }));

  /** A whole set of files, its SVID issued `secondsLater` than now. */
  async function svidSet(
    secondsLater: number,
    bundle = made.certificatePem,
  ): Promise<SvidMaterial & { serial: string }> {
    const key = await generateAgentKey();
    const issued = ca.issueX509Svid({
      spiffeId: SPIFFE_ID,
      subjectPublicKey: (await parseCsr(key.csrPem)).publicKey,
      ttlSeconds: 600,
      now: new Date(Date.now() + secondsLater * 1000),
    });
    return {
      certChain: issued.chainPem,
      privateKeyPem: key.privateKeyPem,
      bundle,
      serial: issued.serialHex,
      state: serializeAgentState({
        agentId: '00000000-0000-4000-8000-000000000001',
        spiffeId: SPIFFE_ID,
        reattestable: false,
      }),
    };
  }

  /**
   * Writes `material` as the agent does and "crashes" before the rename of
   * `target`: the write never goes on, as when the process is killed there.
   */
  async function crashBeforeRenaming(material: SvidMaterial, target: string): Promise<void> {
    let reached: () => void = () => undefined;
    const crashed = new Promise<void>((done) => (reached = done));
    void writeSvidFiles(out, material, {
      beforeRename: (_temp, path) => {
        if (!path.endsWith(`/${target}`)) return Promise.resolve();
        reached();
        return new Promise<void>(() => undefined); // never: the process is gone
      },
    });
    await crashed;
  }

  const serialOnDisk = async () => (await readHeldSvid(out)).serial;
  const tempFiles = async () => (await readdir(out)).filter((name) => name.endsWith('.tmp'));

  it('puts the new SVID in place when a crash came between the key and the SVID renames, which left a pair that certifies nothing', async () => {
    const second = await svidSet(1);
    await crashBeforeRenaming(second, 'svid.pem');
    await expect(readHeldSvid(out)).rejects.toThrow(/does not certify the key/);

    const recovery = await finishInterruptedWrite(out);
    expect(recovery.finished).toMatch(/^[0-9a-f]{12}$/);
    expect(await serialOnDisk()).toBe(second.serial);
    expect(await tempFiles()).toEqual([]);
  });

  it('finishes a set staged whole whose renames had not begun, and its agent.json with it', async () => {
    const second = {
      ...(await svidSet(1)),
      state: serializeAgentState({
        agentId: '00000000-0000-4000-8000-000000000002',
        spiffeId: SPIFFE_ID,
        reattestable: true,
      }),
    };
    await crashBeforeRenaming(second, 'agent.json');
    expect(await serialOnDisk()).toBe(first.serial);

    await finishInterruptedWrite(out);
    expect(await serialOnDisk()).toBe(second.serial);
    expect(JSON.parse(await readFile(join(out, 'agent.json'), 'utf8'))).toMatchObject({
      agentId: '00000000-0000-4000-8000-000000000002',
    });
    expect(await readFile(join(out, 'bundle.pem'), 'utf8')).toBe(second.bundle);
    expect(await tempFiles()).toEqual([]);
  });

  it('drops a set cut short while it was being staged, keeping the files in place', async () => {
    const second = await svidSet(1);
    await crashBeforeRenaming(second, 'agent.json');
    const [svidTemp] = (await tempFiles()).filter((name) => name.startsWith('.svid.pem.'));
    await writeFile(join(out, svidTemp!), second.certChain.slice(0, 200)); // half written

    expect(await finishInterruptedWrite(out)).toEqual({ removed: 4 });
    expect(await serialOnDisk()).toBe(first.serial);
    expect(await tempFiles()).toEqual([]);
  });

  it('drops a staged set whose SVID does not verify against its staged bundle', async () => {
    const other = generateCaKey('example.org', new Date(), 3600);
    const second = await svidSet(1, other.certificatePem);
    await crashBeforeRenaming(second, 'bundle.pem');

    await finishInterruptedWrite(out);
    expect(await serialOnDisk()).toBe(first.serial);
    expect(await readFile(join(out, 'bundle.pem'), 'utf8')).toBe(first.bundle);
  });

  it('takes the newest of several whole staged sets', async () => {
    const older = await svidSet(1);
    const newer = await svidSet(5);
    await crashBeforeRenaming(newer, 'agent.json');
    await crashBeforeRenaming(older, 'agent.json');

    await finishInterruptedWrite(out);
    expect(await serialOnDisk()).toBe(newer.serial);
    expect(await tempFiles()).toEqual([]);
  });

  it('leaves a directory with nothing interrupted alone, and one that does not exist', async () => {
    const before = await readdir(out);
    expect(await finishInterruptedWrite(out)).toEqual({ removed: 0 });
    expect(await readdir(out)).toEqual(before);
    await writeFile(join(out, '.unrelated.tmp'), 'not ours');
    expect(await finishInterruptedWrite(out)).toEqual({ removed: 0 });
    expect(await finishInterruptedWrite(join(out, 'missing'))).toEqual({ removed: 0 });
  });
});
