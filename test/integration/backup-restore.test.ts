import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { AgentClient } from '@apps/agent/client';
import { runDaemon } from '@apps/agent/daemon';
import { readHeldSvid } from '@apps/agent/held-svid';
import { runJwt } from '@apps/agent/jwt-command';
import { runLogin } from '@apps/agent/login';
import { newJoinToken } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';
import { createSharedDatabase } from '../support/server-process';

// Backup and restore (docs/operations/backup-restore.md): a pg_dump of a
// running server's database restored into a fresh database, and a copy of
// a stopped server's embedded data directory, each served by a fresh
// server. Agents logged in before keep renewing and minting JWT-SVIDs, as
// long as the fresh server has the key-encryption key that sealed the
// signing keys. The dump needs a real PostgreSQL, so that half runs on one
// whatever database the suite runs on, as the replica tests do.

const run = promisify(execFile);
const KEK = randomBytes(32).toString('base64');
const POLICIES = { 'agents.yaml': joinTokenPolicy() };

/** The reference agent's renewing loop, from the files in `out`, until it has renewed once. */
async function renewFromDisk(server: string, out: string): Promise<void> {
  const before = await readHeldSvid(out);
  const stop = new AbortController();
  const problems: string[] = [];
  const log = {
    info: (_fields: object, msg: string) => msg === 'SVID renewed' && stop.abort(),
    warn: (fields: object, msg: string) => (problems.push(`${msg}: ${JSON.stringify(fields)}`), stop.abort()),
    error: (fields: object, msg: string) => problems.push(`${msg}: ${JSON.stringify(fields)}`),
  };
  // renewal is due at half-life; this clock does not make the test wait for it
  const clock = { now: () => Date.now(), sleep: async () => undefined };
  await runDaemon({ out, signal: stop.signal }, { client: new AgentClient({ server }), log, clock });
  expect(problems).toEqual([]);
  const after = await readHeldSvid(out);
  expect(after.spiffeId).toBe(before.spiffeId);
  expect(after.serial).not.toBe(before.serial);
}

/** A JWT-SVID minted with the SVID on disk, checked against the server's published keys. */
async function mintAndVerifyJwt(server: string, out: string): Promise<void> {
  const { token } = await runJwt({ server, out, audiences: ['backup-restore'] });
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server}/keys`)), {
    audience: 'backup-restore',
  });
  expect(payload.sub).toBe((await readHeldSvid(out)).spiffeId);
}

async function attestedAgent(server: TestServer, out: string): Promise<string> {
  const { token } = await newJoinToken(server);
  const summary = await runLogin({ server: server.url, attestors: ['join_token'], out, joinToken: token });
  await renewFromDisk(server.url, out);
  return summary.agentId;
}

describe('backup and restore', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'attestd-backup-'));
  const servers: TestServer[] = [];
  const databases: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const server of servers) await server.stop().catch(() => undefined);
    for (const database of databases) await database.drop().catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  });

  async function serve(env: Record<string, string>): Promise<TestServer> {
    const server = await startTestServer({ policies: POLICIES, env });
    servers.push(server);
    return server;
  }

  it('a pg_dump of a running server, restored into a fresh database, serves the agents that were logged in', async () => {
    const original = await createSharedDatabase();
    const restored = await createSharedDatabase();
    databases.push(original, restored);
    const out = join(scratch, 'postgres-agent');
    const late = join(scratch, 'postgres-agent-renewed-after-the-dump');
    const running = await serve({ DATABASE_URL: original.url, ATTESTD_KEY_ENCRYPTION_KEY: KEK });
    const agentId = await attestedAgent(running, out);
    await attestedAgent(running, late);

    const dump = join(scratch, 'attestd.dump');
    await run('pg_dump', ['--format=custom', `--file=${dump}`, `--dbname=${original.url}`]);
    // renewed after the dump: the restored database does not know the SVID it now holds
    await renewFromDisk(running.url, late);
    await run('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${restored.url}`, dump]);
    await running.stop();

    // the signing keys are sealed: without the key that sealed them the server does not start
    await expect(serve({ DATABASE_URL: restored.url })).rejects.toThrow(/key-encryption key/);
    const fresh = await serve({ DATABASE_URL: restored.url, ATTESTD_KEY_ENCRYPTION_KEY: KEK });
    await renewFromDisk(fresh.url, out);
    await mintAndVerifyJwt(fresh.url, out);
    const agent = (await (await fresh.admin('GET', `/v1/agents/${agentId}`)).json()) as {
      status: string;
      svidSerial: string;
    };
    expect(agent).toMatchObject({ status: 'active', svidSerial: (await readHeldSvid(out)).serial });
    await expect(renewFromDisk(fresh.url, late)).rejects.toThrow(
      /invalid_proof_of_possession|not the agent's current SVID/,
    );
  });

  it("a copy of a stopped server's embedded data directory serves the agents that were logged in", async () => {
    const dataDir = join(scratch, 'data');
    const restored = join(scratch, 'restored');
    const copy = join(restored, 'data');
    const out = join(scratch, 'embedded-agent');
    // DATABASE_URL empty: the embedded database even when the suite runs on PostgreSQL
    const embedded = { DATABASE_URL: '', ATTESTD_KEY_ENCRYPTION_KEY: KEK };
    const original = await serve({ ...embedded, ATTESTD_DATA_DIR: dataDir });
    await attestedAgent(original, out);
    await original.stop();
    // as docs/operations/backup-restore.md says: tar keeps the directory's 0700
    const archive = join(scratch, 'data.tar.gz');
    await run('tar', ['-czf', archive, '-C', scratch, 'data']);
    mkdirSync(restored);
    await run('tar', ['-xzf', archive, '-C', restored]);

    const fresh = await serve({ ...embedded, ATTESTD_DATA_DIR: copy });
    await renewFromDisk(fresh.url, out);
    await mintAndVerifyJwt(fresh.url, out);
  });
});
