import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '@libs/persistence/database';
import { openPrivateKey, parseKek } from '@libs/pki';
import { until } from '@libs/testing/until';
import { login, newJoinToken } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';

const sealedLines = (server: TestServer) => server.logs.filter((l) => String(l.msg).startsWith('identity: sealed'));
const bundleOf = async (server: TestServer) => (await server.call('GET', '/v1/bundle')).text();

/** The stored keys, opened with `kek` and written back in plaintext, as releases before sealing by default left them. */
async function unsealStoredKeys(server: TestServer, kek: string): Promise<number> {
  const db = await openDatabase(
    server.databaseUrl
      ? { kind: 'postgres', url: server.databaseUrl }
      : { kind: 'pglite', dataDir: join(server.dataDir, 'pglite') },
  );
  try {
    const rows = await db.prisma.signingKey.findMany();
    for (const row of rows) {
      await db.prisma.signingKey.update({
        where: { id: row.id },
        data: { privateKey: openPrivateKey(row.privateKey, row.encrypted, parseKek(kek)), encrypted: false },
      });
    }
    return rows.length;
  } finally {
    await db.close();
  }
}

describe('a restarted server', () => {
  let server: TestServer;
  afterEach(() => server.stop());

  it('keeps its CA, agents and configuration, and does not load policies/ again', async () => {
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() } });
    const bundle = await bundleOf(server);
    const { token } = await newJoinToken(server);
    const { agentId } = (await (await login(server, { join_token: { token } })).json()) as { agentId: string };
    server = await server.restart();
    expect(await bundleOf(server)).toBe(bundle);
    expect((await server.admin('GET', `/v1/agents/${agentId}`)).status).toBe(200);
    const versions = (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as {
      items: unknown[];
    };
    expect(versions.items).toHaveLength(1);
  });
});

describe('the key-encryption key', () => {
  const kek = randomBytes(32).toString('base64');
  let server: TestServer;
  let bundle: string;
  beforeAll(async () => {
    server = await startTestServer({
      policies: { 'lab.yaml': joinTokenPolicy() },
      env: { ATTESTD_KEY_ENCRYPTION_KEY: kek },
    });
    bundle = await bundleOf(server);
  });
  afterAll(() => server?.stop());

  it('once set, is needed: a start without it or with another stops in one line; with it, the same CA', async () => {
    // on PostgreSQL no key is refused outright; the embedded database makes its own, which does not open keys sealed with another
    await expect(server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: '' })).rejects.toThrow(
      server.databaseUrl
        ? /is required with PostgreSQL/
        : new RegExp(`the key from ${join(server.dataDir, 'key-encryption-key')} does not open the stored key`),
    );
    // a failed start releases what it opened (pools, listeners, timers): a second one leaves no more behind than the first
    const before = process.getActiveResourcesInfo().length;
    await expect(server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') })).rejects.toThrow(
      /^keyEncryptionKey \(ATTESTD_KEY_ENCRYPTION_KEY\): the key from ATTESTD_KEY_ENCRYPTION_KEY does not open the stored key [^\n]+$/,
    );
    await until(() => process.getActiveResourcesInfo().length <= before, 5_000); // sockets still closing may take a moment
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(before);
    server = await server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: kek });
    expect(await bundleOf(server)).toBe(bundle);
  });

  it('seals keys stored in plaintext (before it was set), and says so once', async () => {
    let stored = 0;
    server = await server.restart({}, async () => {
      stored = await unsealStoredKeys(server, kek);
    });
    expect(stored).toBeGreaterThanOrEqual(4); // CA, JWT key, login-ID MAC, admin actor MAC
    expect(sealedLines(server)).toEqual([
      expect.objectContaining({ keys: expect.arrayContaining([{ id: 'x509-ca/1', was: 'plaintext' }]) }),
    ]);
    expect((sealedLines(server)[0]!.keys as unknown[]).length).toBe(stored);
    expect(await bundleOf(server)).toBe(bundle);
    server = await server.restart();
    expect(sealedLines(server)).toEqual([]);
    expect(await bundleOf(server)).toBe(bundle);
  });

  it('rotates: with the old one as the previous key, the new one seals; then the new one alone starts and the old one no longer does', async () => {
    const next = randomBytes(32).toString('hex');
    server = await server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: next, ATTESTD_KEY_ENCRYPTION_KEY_PREVIOUS: kek });
    expect(sealedLines(server)).toEqual([
      expect.objectContaining({
        keys: expect.arrayContaining([{ id: 'x509-ca/1', was: 'sealed with a previous key' }]),
      }),
    ]);
    server = await server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: next, ATTESTD_KEY_ENCRYPTION_KEY_PREVIOUS: '' });
    expect(sealedLines(server)).toEqual([]);
    expect(await bundleOf(server)).toBe(bundle);
    await expect(
      server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: kek, ATTESTD_KEY_ENCRYPTION_KEY_PREVIOUS: '' }),
    ).rejects.toThrow(/does not open the stored key/);
    server = await server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: next });
    expect(await bundleOf(server)).toBe(bundle);
  });
});

describe("the embedded database's data directory", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ embedded: true, policies: { 'lab.yaml': joinTokenPolicy() } });
  });
  afterAll(() => server?.stop());

  const keyFile = () => join(server.dataDir, 'key-encryption-key');
  /** every file and directory attestd wrote: the database and the key file (not the test's policies/) */
  const written = () => {
    const found: { path: string; mode: number; directory: boolean }[] = [];
    const walk = (path: string) => {
      const stat = statSync(path);
      found.push({ path, mode: stat.mode & 0o777, directory: stat.isDirectory() });
      if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    };
    walk(join(server.dataDir, 'pglite'));
    walk(keyFile());
    return found;
  };

  it("holds the database and a generated key-encryption key, readable by the server's user alone", async () => {
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        msg: 'custody: generated a key-encryption key; keys are sealed with it from now on',
        file: keyFile(),
      }),
    );
    expect(statSync(server.dataDir).mode & 0o777).toBe(0o700);
    const loose = written().filter((entry) => entry.mode !== (entry.directory ? 0o700 : 0o600));
    expect(loose).toEqual([]);
    expect(written().length).toBeGreaterThan(100);
  });

  it('seals the stored keys with the generated key, and opens them with it after a restart', async () => {
    const bundle = await bundleOf(server);
    server = await server.restart();
    expect(server.logs.filter((l) => String(l.msg).startsWith('custody: generated'))).toEqual([]);
    expect(await bundleOf(server)).toBe(bundle);
  });

  it('refuses to start on a data directory or key file others can read, in one line naming the path and the fix', async () => {
    chmodSync(server.dataDir, 0o755);
    await expect(server.restart()).rejects.toThrow(
      new Error(
        `dataDir (ATTESTD_DATA_DIR): data directory ${server.dataDir} has invalid permissions 0755; it must be 0700 (u=rwx, no access for group or others): run chmod -R go= ${server.dataDir}`,
      ),
    );
    chmodSync(server.dataDir, 0o700);
    chmodSync(keyFile(), 0o644);
    await expect(server.restart()).rejects.toThrow(
      new Error(
        `dataDir (ATTESTD_DATA_DIR): key file ${keyFile()} has invalid permissions 0644; it must be 0600 or stricter (no access for others): run chmod 600 ${keyFile()}`,
      ),
    );
    chmodSync(keyFile(), 0o600);
    server = await server.restart();
    expect((await server.call('GET', '/readyz')).status).toBe(200);
  });

  it('moves to a key-encryption key given later: what the generated key sealed is sealed again with it', async () => {
    const given = randomBytes(32).toString('base64');
    const bundle = await bundleOf(server);
    server = await server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: given });
    expect(sealedLines(server)).toEqual([
      expect.objectContaining({
        keys: expect.arrayContaining([{ id: 'x509-ca/1', was: 'sealed with a previous key' }]),
      }),
    ]);
    await expect(server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: '' })).rejects.toThrow(
      new RegExp(`the key from ${keyFile()} does not open the stored key`),
    );
    server = await server.restart({ ATTESTD_KEY_ENCRYPTION_KEY: given });
    expect(await bundleOf(server)).toBe(bundle);
  });
});
