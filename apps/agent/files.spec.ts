import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSvidFiles, type SvidMaterial } from './files';

const material: SvidMaterial = {
  certChain: '-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n',
  privateKeyPem: '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n',
  bundle: '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n',
};

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('writeSvidFiles', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'attestd-agent-files-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes svid.pem, svid.key and bundle.pem with their contents', async () => {
    const files = await writeSvidFiles(root, material);
    expect(files).toEqual({
      dir: root,
      svid: join(root, 'svid.pem'),
      key: join(root, 'svid.key'),
      bundle: join(root, 'bundle.pem'),
    });
    expect(await readFile(files.svid, 'utf8')).toBe(material.certChain);
    expect(await readFile(files.key, 'utf8')).toBe(material.privateKeyPem);
    expect(await readFile(files.bundle, 'utf8')).toBe(material.bundle);
    expect((await readdir(root)).sort()).toEqual(['bundle.pem', 'svid.key', 'svid.pem']);
  });

  it('gives the key mode 0600 even under a permissive umask', async () => {
    const previous = process.umask(0);
    try {
      const files = await writeSvidFiles(root, material);
      expect(await mode(files.key)).toBe(0o600);
      expect(await mode(files.svid)).toBe(0o644);
    } finally {
      process.umask(previous);
    }
  });

  it('never exposes the key to others, even before the rename', async () => {
    const previous = process.umask(0);
    const seen: Record<string, number> = {};
    try {
      await writeSvidFiles(root, material, {
        beforeRename: async (temp, target) => {
          expect(temp.startsWith(root)).toBe(true);
          seen[target] = await mode(temp);
        },
      });
    } finally {
      process.umask(previous);
    }
    expect(seen[join(root, 'svid.key')]).toBe(0o600);
  });

  it('makes the key 0600 when it replaces a looser key file', async () => {
    await writeFile(join(root, 'svid.key'), 'old', { mode: 0o644 });
    await writeSvidFiles(root, material);
    expect(await mode(join(root, 'svid.key'))).toBe(0o600);
  });

  it('creates a missing output directory, and its parents, with mode 0700', async () => {
    const out = join(root, 'a', 'b');
    await writeSvidFiles(out, material);
    expect(await mode(out)).toBe(0o700);
    expect(await mode(join(root, 'a'))).toBe(0o700);
  });

  it('leaves the mode of an existing output directory alone', async () => {
    await chmod(root, 0o750);
    await writeSvidFiles(root, material);
    expect(await mode(root)).toBe(0o750);
  });

  it('replaces existing files and leaves no temp files behind', async () => {
    await writeSvidFiles(root, { certChain: 'old svid', privateKeyPem: 'old key', bundle: 'old bundle' });
    const files = await writeSvidFiles(root, material);
    expect(await readFile(files.svid, 'utf8')).toBe(material.certChain);
    expect(await readFile(files.key, 'utf8')).toBe(material.privateKeyPem);
    expect(await readFile(files.bundle, 'utf8')).toBe(material.bundle);
    expect((await readdir(root)).sort()).toEqual(['bundle.pem', 'svid.key', 'svid.pem']);
  });

  it('replaces a symlink at a target path instead of writing through it', async () => {
    const elsewhere = join(root, 'elsewhere.txt');
    await writeFile(elsewhere, 'untouched');
    const out = join(root, 'out');
    await mkdir(out);
    await symlink(elsewhere, join(out, 'svid.key'));
    await writeSvidFiles(out, material);
    expect(await readFile(elsewhere, 'utf8')).toBe('untouched');
    expect((await lstat(join(out, 'svid.key'))).isFile()).toBe(true);
  });

  it('readers see the whole old file or the whole new one at every rename', async () => {
    await writeSvidFiles(root, { certChain: 'old svid', privateKeyPem: 'old key', bundle: 'old bundle' });
    const observed: string[] = [];
    await writeSvidFiles(root, material, {
      beforeRename: async (_temp, target) => {
        observed.push(await readFile(target, 'utf8'));
      },
    });
    expect(observed).toEqual(['old bundle', 'old key', 'old svid']);
  });

  it('removes its temp files when a rename fails, and names the path', async () => {
    await mkdir(join(root, 'svid.pem')); // a directory cannot be replaced by a file
    await expect(writeSvidFiles(root, material)).rejects.toThrow(`cannot replace ${join(root, 'svid.pem')}`);
    expect((await readdir(root)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('fails with a clear message when the output path is a file', async () => {
    const out = join(root, 'file');
    await writeFile(out, 'x');
    await expect(writeSvidFiles(out, material)).rejects.toThrow(`cannot use output directory ${out}`);
  });
});
