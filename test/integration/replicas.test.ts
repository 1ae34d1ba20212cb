import { createHash, randomBytes, type webcrypto } from 'node:crypto';
import { CompactSign } from 'jose';
import { Client } from 'pg';
import { generateAgentKey, type AgentKey } from '@apps/agent/keys';
import { identityDocument } from '@libs/testing/aws-simulator';
import { SERVER_ACCOUNT } from '@libs/testing/aws-simulator/fixtures';
import { until } from '@libs/testing/until';
import { startAwsTestbed, type AwsTestbed } from '../support/aws';
import { startReplicas, type Replicas, type ServerProcess } from '../support/server-process';

// Two real server processes on one PostgreSQL database, sharing nothing else
// (operations.md, scale-out): configuration reaches the other replica through
// LISTEN/NOTIFY, and every single-use thing stays single use across both.

const policies = (labPath: string) => `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: named
      requiredAttestors: [{ type: aws_iid }]
      rules: [{ attribute: aws_iid.ec2.instance.tag.Role, equals: named }]
      spiffeIdTemplate: "/node/{{aws_iid.ec2.instance.tag.Name}}"
    - name: ec2
      requiredAttestors: [{ type: aws_iid }]
      spiffeIdTemplate: "/ec2/{{aws_iid.ec2.instance.id}}"
    - name: lab
      requiredAttestors: [{ type: join_token }]
      spiffeIdTemplate: "${labPath}/{{join_token.id}}"
`;

/** The bound operations.md sets for a pushed document to govern logins on every replica. */
const RELOAD_BOUND_MS = 2000;
const LISTENING = 'config: listening for configuration changes';
const SPIFFE_ID_TAKEN = 'login: SPIFFE ID held by another active agent; refused';

interface LoginBody {
  agentId: string;
  spiffeId: string;
  svid: { certChain: string };
}

async function startLogin(server: ServerProcess, methods: string[]): Promise<string> {
  const started = await server.call('POST', '/v1/agent/login', { body: { providedMethods: methods } });
  if (started.status !== 200)
    throw new Error(`login start on ${server.name}: ${started.status} ${await started.text()}`);
  return ((await started.json()) as { loginId: string }).loginId;
}

async function complete(
  server: ServerProcess,
  loginId: string,
  proofs: Record<string, unknown>,
  csr: string,
): Promise<Response> {
  return server.call('POST', `/v1/agent/login/${loginId}/complete`, { body: { proofs, csr } });
}

async function login(server: ServerProcess, proofs: Record<string, unknown>, csr: string): Promise<Response> {
  return complete(server, await startLogin(server, Object.keys(proofs)), proofs, csr);
}

async function newJoinToken(server: ServerProcess): Promise<string> {
  const response = await server.admin('POST', '/v1/join-tokens', { ttlSeconds: 600 });
  if (response.status !== 201) throw new Error(`join token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** status → problem code (or "ok") of each response, counted */
async function outcomes(responses: Response[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const response of responses) {
    const key =
      response.status === 200 ? '200 ok' : `${response.status} ${((await response.json()) as { code: string }).code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Splits `count` requests alternately across the replicas and fires them all at once. */
function acrossReplicas<T>(
  servers: ServerProcess[],
  count: number,
  request: (server: ServerProcess) => Promise<T>,
): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => request(servers[i % servers.length]!)));
}

function csrHash(csrPem: string): string {
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return createHash('sha256').update(der).digest('base64url');
}

/** A renewal request signed with `key`, as the agent makes it (api.md). */
async function renewalBody(
  certChain: string,
  key: webcrypto.CryptoKey,
  jti: string,
): Promise<{ body: unknown; next: AgentKey }> {
  const next = await generateAgentKey();
  const claims = { aud: 'attestd-renew', iat: Math.floor(Date.now() / 1000), jti, csr_sha256: csrHash(next.csrPem) };
  const pop = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: 'ES256' })
    .sign(key);
  return { body: { certChain, csr: next.csrPem, pop }, next };
}

describe('two replicas on one PostgreSQL', () => {
  let aws: AwsTestbed;
  let replicas: Replicas;
  let a: ServerProcess;
  let b: ServerProcess;
  let db: Client;

  beforeAll(async () => {
    aws = await startAwsTestbed();
    replicas = await startReplicas(2, {
      policies: { 'agents.yaml': policies('/lab/v1'), 'certificates.yaml': aws.certificatesSection },
      // the fallback version check cannot explain an activation within the test
      env: { ...aws.sim.endpointEnv(), ATTESTD_CONFIG_POLL_INTERVAL: '60s' },
    });
    [a, b] = replicas.servers as [ServerProcess, ServerProcess];
    db = new Client({ connectionString: replicas.databaseUrl });
    await db.connect();
  }, 180_000);
  afterAll(async () => {
    await db?.end();
    await replicas?.stop();
    await aws?.close();
  });

  /** Login audit events written after `mark`, counted by outcome and code. */
  async function loginAuditSince(mark: string): Promise<Record<string, number>> {
    const rows = await db.query<{ outcome: string; code: string | null; n: string }>(
      "SELECT outcome, code, count(*) AS n FROM audit_events WHERE event = 'login' AND id > $1 GROUP BY outcome, code",
      [mark],
    );
    return Object.fromEntries(rows.rows.map((r) => [`${r.outcome} ${r.code ?? ''}`.trim(), Number(r.n)]));
  }
  const auditMark = async () =>
    (await db.query<{ id: string }>('SELECT COALESCE(max(id), 0)::text AS id FROM audit_events')).rows[0]!.id;

  /** Pushes the lab policy with another path through `via` and returns its version. */
  async function pushLabPath(via: ServerProcess, labPath: string): Promise<{ version: number; sha256: string }> {
    const response = await via.call('PUT', '/v1/config/AgentAttestation', {
      token: replicas.adminToken,
      body: policies(labPath),
      headers: { 'content-type': 'application/yaml' },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { version: number; sha256: string };
  }

  /** Logs in on `on` with fresh join tokens until its SPIFFE ID has `labPath`; the time from `since`. */
  async function msUntilLoginUses(on: ServerProcess, labPath: string, since: number): Promise<number> {
    const csr = (await generateAgentKey()).csrPem;
    for (;;) {
      const elapsed = Date.now() - since;
      if (elapsed > RELOAD_BOUND_MS)
        throw new Error(`${on.name} still used the old policy ${elapsed} ms after the push`);
      const response = await login(on, { join_token: { token: await newJoinToken(a) } }, csr);
      expect(response.status).toBe(200);
      if (((await response.json()) as LoginBody).spiffeId.includes(`${labPath}/`)) return Date.now() - since;
    }
  }

  it('lets a policy pushed to replica A govern logins on replica B within 2 s, through NOTIFY', async () => {
    await until(() => b.logs.some((line) => line.msg === LISTENING));
    const pushed = await pushLabPath(a, '/lab/v2');
    const acceptedAt = Date.now(); // the 2 s run from when A answered the push, not from when the push was sent
    expect(pushed.version).toBe(2);
    await msUntilLoginUses(b, '/lab/v2', acceptedAt);
    expect(b.logs).toContainEqual(
      expect.objectContaining({
        msg: 'Configuration activated',
        section: 'AgentAttestation',
        version: 2,
        sha256: pushed.sha256,
      }),
    );
  });

  it('reconnects its listener when PostgreSQL drops the connection, and still hears pushes', async () => {
    const listenedBefore = b.logs.filter((line) => line.msg === LISTENING).length;
    const killed = await db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN attestd_config'",
    );
    expect(killed.rowCount).toBeGreaterThanOrEqual(2);
    await until(() => b.logs.filter((line) => line.msg === LISTENING).length > listenedBefore);
    expect(b.logs).toContainEqual(
      expect.objectContaining({ msg: 'config: lost the configuration change listener; reconnecting' }),
    );
    const pushed = await pushLabPath(a, '/lab/v3');
    await msUntilLoginUses(b, '/lab/v3', Date.now());
    expect(b.logs).toContainEqual(
      expect.objectContaining({ msg: 'Configuration activated', section: 'AgentAttestation', version: pushed.version }),
    );
  });

  it('admits one EC2 instance once among 100 concurrent logins across both replicas, auditing each', async () => {
    const instance = aws.sim.world.addInstance({
      accountId: SERVER_ACCOUNT,
      region: 'us-east-1',
      instanceId: 'i-0c1c2c3c4c5c6c7c8',
    });
    const document = identityDocument(instance);
    const proofs = { aws_iid: { document, signature: await aws.signer.sign(document) } };
    const csr = (await generateAgentKey()).csrPem;
    const mark = await auditMark();
    const responses = await acrossReplicas([a, b], 100, (server) => login(server, proofs, csr));
    expect(await outcomes(responses)).toEqual({ '200 ok': 1, '409 node_already_attested': 99 });
    expect(await loginAuditSince(mark)).toEqual({ success: 1, 'failure node_already_attested': 99 });
  });

  it('gives one SPIFFE ID to one of 20 instances tagged web-1 logging in at once across both replicas, auditing and warning about each refusal', async () => {
    const instances = Array.from({ length: 20 }, (_, i) =>
      aws.sim.world.addInstance({
        accountId: SERVER_ACCOUNT,
        region: 'us-east-1',
        instanceId: `i-0a1b2c3d4e5f60${(0x700 + i).toString(16)}`,
        tags: { Name: 'web-1', Role: 'named' },
      }),
    );
    const proofs = await Promise.all(
      instances.map(async (instance) => {
        const document = identityDocument(instance);
        return { aws_iid: { document, signature: await aws.signer.sign(document) } };
      }),
    );
    const csr = (await generateAgentKey()).csrPem;
    const mark = await auditMark();
    const warnedBefore = [a, b].map((server) => server.logs.filter((line) => line.msg === SPIFFE_ID_TAKEN).length);
    const responses = await Promise.all(proofs.map((proof, i) => login([a, b][i % 2]!, proof, csr)));
    expect(await outcomes(responses)).toEqual({ '200 ok': 1, '409 spiffe_id_in_use': 19 });
    expect(await loginAuditSince(mark)).toEqual({ success: 1, 'failure spiffe_id_in_use': 19 });
    const active = await db.query(
      "SELECT count(*)::int AS n FROM agents WHERE spiffe_id = 'spiffe://example.org/node/web-1' AND status = 'active'",
    );
    expect(active.rows[0]).toEqual({ n: 1 });
    // each replica warns about the refusals it answered; log lines arrive through a pipe, after the answers
    const warned = () =>
      [a, b].reduce(
        (sum, server, i) => sum + server.logs.filter((line) => line.msg === SPIFFE_ID_TAKEN).length - warnedBefore[i]!,
        0,
      );
    await until(() => warned() >= 19);
    expect(warned()).toBe(19);
  });

  it('admits one of 100 concurrent uses of one join token across both replicas, auditing each', async () => {
    const token = await newJoinToken(a);
    const csr = (await generateAgentKey()).csrPem;
    const mark = await auditMark();
    const responses = await acrossReplicas([a, b], 100, (server) => login(server, { join_token: { token } }, csr));
    // a used token is a used token (401) whether the loser was refused by the
    // attestor or raced past it to the write: never a TOFU conflict on its key
    expect(await outcomes(responses)).toEqual({ '200 ok': 1, '401 attestation_failed': 99 });
    expect(await loginAuditSince(mark)).toEqual({ success: 1, 'failure attestation_failed': 99 });
  });

  it('admits 30 new instances, one of 30 logins of one instance and one of 30 uses of one token, racing in shared transactions across both replicas', async () => {
    const awsProofs = async (instanceId: string) => {
      const document = identityDocument(
        aws.sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId }),
      );
      return { aws_iid: { document, signature: await aws.signer.sign(document) } };
    };
    const fresh = await Promise.all(
      Array.from({ length: 30 }, (_, i) => awsProofs(`i-0f0e0d0c0b0a09${(0x100 + i).toString(16)}`)),
    );
    const node = await awsProofs('i-0f0e0d0c0b0a09ff0');
    const token = { join_token: { token: await newJoinToken(a) } };
    const csr = (await generateAgentKey()).csrPem;
    const mark = await auditMark();
    // interleaved, so that the writes each replica gathers mix the three
    const proofs = fresh.flatMap((f) => [f, node, token]);
    const responses = await Promise.all(proofs.map((p, i) => login([a, b][i % 2]!, p, csr)));
    expect(await outcomes(responses)).toEqual({
      '200 ok': 32,
      '409 node_already_attested': 29,
      '401 attestation_failed': 29,
    });
    expect(await loginAuditSince(mark)).toEqual({
      success: 32,
      'failure node_already_attested': 29,
      'failure attestation_failed': 29,
    });
    // group commit was at work: audit rows written by one transaction share its xmin
    const transactions = await db.query<{ n: number }>(
      "SELECT count(DISTINCT xmin::text)::int AS n FROM audit_events WHERE event = 'login' AND id > $1",
      [mark],
    );
    expect(transactions.rows[0]!.n).toBeLessThan(proofs.length);
  });

  it('completes one login ID once when both replicas complete it at the same time', async () => {
    const token = await newJoinToken(a);
    const loginId = await startLogin(a, ['join_token']);
    const csr = (await generateAgentKey()).csrPem;
    const responses = await Promise.all(
      [a, b].map((server) => complete(server, loginId, { join_token: { token } }, csr)),
    );
    expect(await outcomes(responses)).toEqual({ '200 ok': 1, '404 login_not_found': 1 });
  });

  it('uses a renewal jti once across both replicas', async () => {
    const key = await generateAgentKey();
    const attested = await login(a, { join_token: { token: await newJoinToken(a) } }, key.csrPem);
    const held = (await attested.json()) as LoginBody;
    const jti = randomBytes(16).toString('base64url');

    // the same renewal sent to both at once: one renews, the other is refused
    const { body, next } = await renewalBody(held.svid.certChain, key.keyPair.privateKey, jti);
    const both = await Promise.all([a, b].map((server) => server.call('POST', '/v1/agent/renew', { body })));
    expect(await outcomes(both.map((r) => r.clone()))).toEqual({ '200 ok': 1, '401 invalid_proof_of_possession': 1 });
    const renewed = (await both.find((r) => r.status === 200)!.json()) as LoginBody;

    // the jti again, now signed by the renewed key for its new SVID, on each replica
    for (const server of [a, b]) {
      const replay = await renewalBody(renewed.svid.certChain, next.keyPair.privateKey, jti);
      const response = await server.call('POST', '/v1/agent/renew', { body: replay.body });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({
        code: 'invalid_proof_of_possession',
        detail: expect.stringMatching(/jti was already used/),
      });
    }
  });

  it('lets one of eight renewals of one SVID win across both replicas when they overlap, the others refused as not current', async () => {
    const key = await generateAgentKey();
    const held = (await (
      await login(a, { join_token: { token: await newJoinToken(a) } }, key.csrPem)
    ).json()) as LoginBody;
    const bodies = await Promise.all(
      Array.from({ length: 8 }, () =>
        renewalBody(held.svid.certChain, key.keyPair.privateKey, randomBytes(16).toString('base64url')),
      ),
    );
    // The agent's row locked by the test: every renewal reads the row, then
    // waits on the lock to update it, so all eight overlap for certain.
    await db.query('BEGIN');
    let responses: Response[];
    try {
      await db.query('SELECT 1 FROM agents WHERE id = $1 FOR UPDATE', [held.agentId]);
      const pending = bodies.map(({ body }, i) => [a, b][i % 2]!.call('POST', '/v1/agent/renew', { body }));
      const waiting = async () =>
        Number(
          (
            await db.query<{ n: string }>(
              "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
          ).rows[0]!.n,
        );
      expect(await until(async () => (await waiting()) === bodies.length, 30_000)).toBe(true);
      await db.query('COMMIT');
      responses = await Promise.all(pending);
    } catch (error) {
      await db.query('ROLLBACK');
      throw error;
    }
    expect(await outcomes(responses)).toEqual({ '200 ok': 1, '401 invalid_proof_of_possession': 7 });
  });

  it('stops a replica without the shared key-encryption key, or with another, with exit status 2 and one line saying why', async () => {
    await expect(replicas.startAnother('replica-no-key', { ATTESTD_KEY_ENCRYPTION_KEY: '' })).rejects.toThrow(
      /exited with 2 before listening:\nattestd: keyEncryptionKey \(ATTESTD_KEY_ENCRYPTION_KEY\) or keyEncryptionKeyFile \(ATTESTD_KEY_ENCRYPTION_KEY_FILE\) is required with PostgreSQL[^\n]*openssl rand -base64 32\n$/,
    );
    await expect(
      replicas.startAnother('replica-other-key', { ATTESTD_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') }),
    ).rejects.toThrow(
      /exited with 2 before listening:\nattestd: keyEncryptionKey \(ATTESTD_KEY_ENCRYPTION_KEY\): the key from ATTESTD_KEY_ENCRYPTION_KEY does not open the stored key [^\n]+\n$/,
    );
  });
});
