import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@test/support/database';
import { loginRecord } from '@test/support/login-record';
import { AgentsRepository } from './agents.repository';
import { LoginWriteBatcher } from './login-batch';
import { recordLogin, type LoginRecord, type LoginWriteResult } from './login-write';

describe('LoginWriteBatcher (group commit of login writes)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t?.drop());

  const nodeKey = () => `aws_iid/123456789012/us-east-1/i-${randomUUID().slice(0, 8)}`;
  /** a login with a request ID of its own, to find its audit event by */
  const login = (overrides: Partial<LoginRecord> = {}) => loginRecord({ requestId: randomUUID(), ...overrides });

  /** The transactions that wrote these logins' audit events (rows one transaction wrote share its xmin). */
  async function transactionsOf(logins: LoginRecord[]): Promise<number> {
    const rows = await t.db.prisma.$queryRaw<{ n: number }[]>`
      SELECT count(DISTINCT xmin::text)::int AS n FROM audit_events WHERE request_id = ANY(${logins.map((l) => l.requestId!)})`;
    return rows[0]!.n;
  }

  async function newJoinToken(): Promise<string> {
    const id = randomUUID();
    await t.db.prisma.joinToken.create({
      data: { id, tokenHash: randomUUID(), expiresAt: new Date(Date.now() + 60_000), createdBy: 'test' },
    });
    return id;
  }

  const count = (results: LoginWriteResult[], outcome: LoginWriteResult['outcome']) =>
    results.filter((r) => r.outcome === outcome).length;

  it('writes a lone login at once, and the logins that arrive while it is written together, 32 to a transaction', async () => {
    const batcher = new LoginWriteBatcher(t.db);
    const logins = Array.from({ length: 33 }, () => login());
    const results = await Promise.all(logins.map((l) => batcher.write(l)));
    expect(results).toEqual(logins.map(() => ({ outcome: 'recorded' })));
    expect(await transactionsOf(logins.slice(0, 1))).toBe(1);
    expect(await transactionsOf(logins.slice(1))).toBe(1);
    expect(await transactionsOf(logins)).toBe(2);
    expect(await t.db.prisma.agent.count({ where: { id: { in: logins.map((l) => l.agentId) } } })).toBe(33);
  });

  it('decides each login of one transaction on its own: a used login ID, a TOFU conflict, a ban, a spent token or a taken SPIFFE ID refuses that login only', async () => {
    const agents = new AgentsRepository(t.db.prisma);
    const held = login();
    const banned = login();
    const named = login();
    const earlier = login({ tofu: false });
    const spentToken = await newJoinToken();
    for (const l of [
      held,
      banned,
      named,
      earlier,
      login({ joinTokenId: spentToken, tofuKeys: [`join_token/${spentToken}`] }),
    ])
      await recordLogin(t.db, l);
    await agents.changeStatus(banned.agentId, 'ban', { actor: 'test' });
    const freshToken = await newJoinToken();

    const batcher = new LoginWriteBatcher(t.db);
    const first = login();
    const batch = {
      fresh: login(),
      withToken: login({ joinTokenId: freshToken, tofuKeys: [`join_token/${freshToken}`] }),
      usedLoginId: login({ loginNonce: held.loginNonce }),
      heldKey: login({ tofuKeys: held.tofuKeys }),
      bannedKey: login({ tofuKeys: banned.tofuKeys }),
      spentToken: login({ joinTokenId: spentToken, tofuKeys: [`join_token/${spentToken}/again`] }),
      takenSpiffeId: login({ spiffeId: named.spiffeId }),
      supersedes: login({ tofu: false, tofuKeys: earlier.tofuKeys, spiffeId: earlier.spiffeId }),
      alsoFresh: login(),
    };
    const [, ...results] = await Promise.all([first, ...Object.values(batch)].map((l) => batcher.write(l)));
    expect(Object.fromEntries(Object.keys(batch).map((name, i) => [name, results[i]]))).toEqual({
      fresh: { outcome: 'recorded' },
      withToken: { outcome: 'recorded' },
      usedLoginId: { outcome: 'login_not_found' },
      heldKey: { outcome: 'node_already_attested', tofuKey: held.tofuKeys[0], holderId: held.agentId },
      bannedKey: { outcome: 'agent_banned', tofuKey: banned.tofuKeys[0], holderId: banned.agentId },
      spentToken: { outcome: 'join_token_used' },
      takenSpiffeId: { outcome: 'spiffe_id_in_use', holderId: named.agentId },
      supersedes: { outcome: 'recorded' },
      alsoFresh: { outcome: 'recorded' },
    });
    expect(await transactionsOf(Object.values(batch))).toBe(1);
    expect((await agents.get(earlier.agentId))?.status).toBe('evicted');
    expect((await agents.get(batch.supersedes.agentId))?.tofuKeys).toEqual(earlier.tofuKeys);
    expect((await t.db.prisma.joinToken.findUnique({ where: { id: freshToken } }))?.usedByAgent).toBe(
      batch.withToken.agentId,
    );
    const audited = await t.db.prisma.auditEvent.findMany({
      where: { requestId: { in: Object.values(batch).map((l) => l.requestId!) } },
      select: { requestId: true, outcome: true, code: true },
    });
    expect(
      Object.fromEntries(
        Object.entries(batch).map(([name, l]) => [
          name,
          audited.filter((a) => a.requestId === l.requestId).map((a) => `${a.outcome} ${a.code ?? ''}`.trim()),
        ]),
      ),
    ).toEqual({
      fresh: ['success'],
      withToken: ['success'],
      usedLoginId: ['failure login_not_found'],
      heldKey: ['failure node_already_attested'],
      bannedKey: ['failure agent_banned'],
      spentToken: ['failure attestation_failed'],
      takenSpiffeId: ['failure spiffe_id_in_use'],
      supersedes: ['success'],
      alsoFresh: ['success'],
    });
  });

  it('keeps logins that claim one node, token, login ID or SPIFFE ID apart, so that exactly one of each wins', async () => {
    const batcher = new LoginWriteBatcher(t.db);
    const key = nodeKey();
    const token = await newJoinToken();
    const nonce = randomUUID();
    const spiffeId = `spiffe://example.org/node/${randomUUID().slice(0, 8)}`;
    const groups = {
      node: Array.from({ length: 12 }, () => login({ tofuKeys: [key] })),
      token: Array.from({ length: 12 }, () => login({ joinTokenId: token, tofuKeys: [`join_token/${token}`] })),
      loginId: Array.from({ length: 12 }, () => login({ loginNonce: nonce })),
      spiffeId: Array.from({ length: 12 }, () => login({ spiffeId })),
    };
    // interleaved, so that every batch holds one of each group and some fresh logins
    const fresh = Array.from({ length: 12 }, () => login());
    const all = fresh.flatMap((f, i) => [
      f,
      groups.node[i]!,
      groups.token[i]!,
      groups.loginId[i]!,
      groups.spiffeId[i]!,
    ]);
    const results = new Map(
      (await Promise.all(all.map(async (l) => [l, await batcher.write(l)] as const))).map(([l, r]) => [l, r]),
    );
    const of = (logins: LoginRecord[]) => logins.map((l) => results.get(l)!);
    expect(count(of(fresh), 'recorded')).toBe(12);
    expect([count(of(groups.node), 'recorded'), count(of(groups.node), 'node_already_attested')]).toEqual([1, 11]);
    expect([count(of(groups.token), 'recorded'), count(of(groups.token), 'join_token_used')]).toEqual([1, 11]);
    expect([count(of(groups.loginId), 'recorded'), count(of(groups.loginId), 'login_not_found')]).toEqual([1, 11]);
    expect([count(of(groups.spiffeId), 'recorded'), count(of(groups.spiffeId), 'spiffe_id_in_use')]).toEqual([1, 11]);
    // batched: far fewer transactions than logins
    expect(await transactionsOf(all)).toBeLessThan(all.length / 2);
  });

  it('lets a login that breaks its batch statement fail alone, the others written', async () => {
    const batcher = new LoginWriteBatcher(t.db);
    const good = Array.from({ length: 6 }, () => login());
    const broken = login({ agentId: 'not-a-uuid' });
    const settled = await Promise.allSettled([good[0]!, broken, ...good.slice(1)].map((l) => batcher.write(l)));
    expect(settled[1]).toMatchObject({
      status: 'rejected',
      reason: expect.objectContaining({ message: expect.stringMatching(/uuid/) }),
    });
    expect(settled.filter((s) => s.status === 'fulfilled').map((s) => s.value)).toEqual(
      good.map(() => ({ outcome: 'recorded' })),
    );
    expect(await t.db.prisma.agent.count({ where: { id: { in: good.map((l) => l.agentId) } } })).toBe(6);
  });

  it('stays exactly-once when two batchers, as two replicas, write logins of one node, one token and new nodes at the same time', async () => {
    const replicas = [new LoginWriteBatcher(t.db), new LoginWriteBatcher(t.db)];
    const key = nodeKey();
    const token = await newJoinToken();
    const logins = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? login({ tofuKeys: [key] })
        : i % 3 === 1
          ? login({ joinTokenId: token, tofuKeys: [`join_token/${token}`] })
          : login(),
    );
    const results = await Promise.all(logins.map((l, i) => replicas[i % 2]!.write(l)));
    const ofKind = (kind: number) => results.filter((_, i) => i % 3 === kind);
    expect([count(ofKind(0), 'recorded'), count(ofKind(0), 'node_already_attested')]).toEqual([1, 19]);
    expect([count(ofKind(1), 'recorded'), count(ofKind(1), 'join_token_used')]).toEqual([1, 19]);
    expect(count(ofKind(2), 'recorded')).toBe(20);
    expect(await t.db.prisma.tofuKey.count({ where: { key, active: true } })).toBe(1);
    const audited = await t.db.prisma.auditEvent.count({
      where: { requestId: { in: logins.map((l) => l.requestId!) } },
    });
    expect(audited).toBe(60);
  });
});
