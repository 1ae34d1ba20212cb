import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@test/support/database';
import { loginRecord } from '@test/support/login-record';
import { AgentsRepository } from './agents.repository';
import { hotStatement } from './database';
import { recordLogin } from './login-write';

describe('recordLogin (the single login write)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t?.drop());

  const login = loginRecord;

  async function auditFor(agentId: string) {
    return t.db.prisma.auditEvent.findMany({ where: { agentId }, orderBy: { id: 'asc' } });
  }

  it('records the agent, its TOFU keys and a success audit event together', async () => {
    const l = login();
    await expect(recordLogin(t.db, l)).resolves.toEqual({ outcome: 'recorded' });
    const agent = await new AgentsRepository(t.db.prisma).get(l.agentId);
    expect(agent).toMatchObject({ spiffeId: l.spiffeId, status: 'active', tofuKeys: l.tofuKeys, svidSerial: 'ab' });
    expect(await auditFor(l.agentId)).toEqual([
      expect.objectContaining({ event: 'login', outcome: 'success', spiffeId: l.spiffeId }),
    ]);
  });

  it('refuses a login ID used before, writing only the failure audit', async () => {
    const first = login();
    await recordLogin(t.db, first);
    const again = login({ loginNonce: first.loginNonce });
    await expect(recordLogin(t.db, again)).resolves.toEqual({ outcome: 'login_not_found' });
    expect(await t.db.prisma.agent.findUnique({ where: { id: again.agentId } })).toBeNull();
  });

  it('refuses a second node with an active TOFU key and audits the conflict against the holder', async () => {
    const first = login();
    await recordLogin(t.db, first);
    const second = login({ tofuKeys: first.tofuKeys });
    await expect(recordLogin(t.db, second)).resolves.toEqual({
      outcome: 'node_already_attested',
      tofuKey: first.tofuKeys[0],
      holderId: first.agentId,
    });
    expect(await auditFor(first.agentId)).toEqual([
      expect.objectContaining({ outcome: 'success' }),
      expect.objectContaining({ outcome: 'failure', code: 'node_already_attested' }),
    ]);
  });

  it('lets an evicted node attest again and refuses a banned one', async () => {
    const agents = new AgentsRepository(t.db.prisma);
    const first = login();
    await recordLogin(t.db, first);
    await agents.changeStatus(first.agentId, 'evict', { actor: 'test' });
    const second = login({ tofuKeys: first.tofuKeys });
    await expect(recordLogin(t.db, second)).resolves.toEqual({ outcome: 'recorded' });
    await agents.changeStatus(second.agentId, 'ban', { actor: 'test' });
    await expect(recordLogin(t.db, login({ tofuKeys: first.tofuKeys }))).resolves.toMatchObject({
      outcome: 'agent_banned',
    });
  });

  it('with tofu off, supersedes the earlier agent', async () => {
    const first = login({ tofu: false });
    await recordLogin(t.db, first);
    const second = login({ tofu: false, tofuKeys: first.tofuKeys });
    await expect(recordLogin(t.db, second)).resolves.toEqual({ outcome: 'recorded' });
    const agents = new AgentsRepository(t.db.prisma);
    expect((await agents.get(first.agentId))?.status).toBe('evicted');
    expect((await agents.get(second.agentId))?.status).toBe('active');
  });

  it('consumes a join token exactly once under concurrency', async () => {
    const tokenId = randomUUID();
    await t.db.prisma.joinToken.create({
      data: { id: tokenId, tokenHash: randomUUID(), expiresAt: new Date(Date.now() + 60_000), createdBy: 'test' },
    });
    const attempts = Array.from({ length: 20 }, () =>
      login({ joinTokenId: tokenId, tofuKeys: [`join_token/${tokenId}`] }),
    );
    const results = await Promise.all(attempts.map((a) => recordLogin(t.db, a)));
    expect(results.filter((r) => r.outcome === 'recorded')).toHaveLength(1);
    expect(await t.db.prisma.agent.count({ where: { id: { in: attempts.map((a) => a.agentId) } } })).toBe(1);
  });

  it('lets exactly one of many concurrent logins of one node win', async () => {
    const key = `aws_iid/123456789012/us-east-1/i-${randomUUID().slice(0, 8)}`;
    const attempts = Array.from({ length: 20 }, () => login({ tofuKeys: [key] }));
    const results = await Promise.all(attempts.map((a) => recordLogin(t.db, a)));
    expect(results.filter((r) => r.outcome === 'recorded')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'node_already_attested')).toHaveLength(19);
  });

  describe('one active agent per SPIFFE ID', () => {
    const nodeKey = () => `aws_iid/123456789012/us-east-1/i-${randomUUID().slice(0, 8)}`;
    const activeWith = (spiffeId: string) =>
      t.db.prisma.agent.findMany({ where: { spiffeId, status: 'active' }, select: { id: true } });

    it('refuses another node the SPIFFE ID an active agent holds, writing only the failure audited against the holder', async () => {
      const spiffeId = `spiffe://example.org/node/web-${randomUUID().slice(0, 8)}`;
      const first = login({ spiffeId });
      await recordLogin(t.db, first);
      const second = login({ spiffeId, tofuKeys: [nodeKey()] });
      await expect(recordLogin(t.db, second)).resolves.toEqual({
        outcome: 'spiffe_id_in_use',
        holderId: first.agentId,
      });
      expect(await t.db.prisma.agent.findUnique({ where: { id: second.agentId } })).toBeNull();
      expect(await t.db.prisma.tofuKey.count({ where: { key: second.tofuKeys[0] } })).toBe(0);
      expect(await auditFor(first.agentId)).toEqual([
        expect.objectContaining({ outcome: 'success' }),
        expect.objectContaining({
          outcome: 'failure',
          code: 'spiffe_id_in_use',
          spiffeId,
          reason: 'SPIFFE ID held by another active agent',
        }),
      ]);
      // the login ID is used up, and a join token would not be
      await expect(recordLogin(t.db, { ...second, agentId: randomUUID() })).resolves.toEqual({
        outcome: 'login_not_found',
      });
    });

    it('does not spend a join token on a login refused for its SPIFFE ID', async () => {
      const spiffeId = `spiffe://example.org/lab/${randomUUID().slice(0, 8)}`;
      await recordLogin(t.db, login({ spiffeId }));
      const tokenId = randomUUID();
      await t.db.prisma.joinToken.create({
        data: { id: tokenId, tokenHash: randomUUID(), expiresAt: new Date(Date.now() + 60_000), createdBy: 'test' },
      });
      await expect(
        recordLogin(t.db, login({ spiffeId, joinTokenId: tokenId, tofuKeys: [`join_token/${tokenId}`] })),
      ).resolves.toMatchObject({ outcome: 'spiffe_id_in_use' });
      expect((await t.db.prisma.joinToken.findUnique({ where: { id: tokenId } }))?.usedAt).toBeNull();
    });

    it('lets exactly one of many concurrent logins of different nodes with one SPIFFE ID win', async () => {
      const spiffeId = `spiffe://example.org/node/web-${randomUUID().slice(0, 8)}`;
      const attempts = Array.from({ length: 20 }, () => login({ spiffeId, tofuKeys: [nodeKey()] }));
      const results = await Promise.all(attempts.map((a) => recordLogin(t.db, a)));
      expect(results.filter((r) => r.outcome === 'recorded')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'spiffe_id_in_use')).toHaveLength(19);
      expect(await activeWith(spiffeId)).toHaveLength(1);
      const audited = await t.db.prisma.auditEvent.groupBy({
        by: ['outcome', 'code'],
        where: { spiffeId },
        _count: true,
      });
      expect(audited.map((g) => [g.outcome, g.code, g._count]).sort()).toEqual([
        ['failure', 'spiffe_id_in_use', 19],
        ['success', null, 1],
      ]);
    });

    it('with tofu off, lets the same node take its SPIFFE ID over from its earlier agent in the one statement', async () => {
      const spiffeId = `spiffe://example.org/node/${randomUUID().slice(0, 8)}`;
      const first = login({ spiffeId, tofu: false });
      await recordLogin(t.db, first);
      const again = login({ spiffeId, tofu: false, tofuKeys: first.tofuKeys });
      await expect(recordLogin(t.db, again)).resolves.toEqual({ outcome: 'recorded' });
      expect(await activeWith(spiffeId)).toEqual([{ id: again.agentId }]);
      // another node is still refused it
      await expect(recordLogin(t.db, login({ spiffeId, tofu: false, tofuKeys: [nodeKey()] }))).resolves.toEqual({
        outcome: 'spiffe_id_in_use',
        holderId: again.agentId,
      });
    });

    it('with tofu off, leaves one active agent holding the key when the same node logs in many times at once', async () => {
      const spiffeId = `spiffe://example.org/node/${randomUUID().slice(0, 8)}`;
      const first = login({ spiffeId, tofu: false });
      await recordLogin(t.db, first);
      const attempts = Array.from({ length: 16 }, () => login({ spiffeId, tofu: false, tofuKeys: first.tofuKeys }));
      const results = await Promise.all(attempts.map((a) => recordLogin(t.db, a)));
      // each round of the write, one of them wins; past the bounded rounds a loser is told to retry, having written nothing
      expect(results.every((r) => r.outcome === 'recorded' || r.outcome === 'contended')).toBe(true);
      const contended = attempts.filter((_, i) => results[i]!.outcome === 'contended').map((a) => a.agentId);
      expect(await t.db.prisma.agent.count({ where: { id: { in: contended } } })).toBe(0);
      const active = await activeWith(spiffeId);
      expect(active).toHaveLength(1);
      expect(
        await t.db.prisma.tofuKey.findMany({
          where: { key: first.tofuKeys[0], active: true },
          select: { agentId: true },
        }),
      ).toEqual([{ agentId: active[0]!.id }]);
    });

    it('frees the SPIFFE ID when its agent is evicted or banned; unban does not make the agent active again', async () => {
      const agents = new AgentsRepository(t.db.prisma);
      const spiffeId = `spiffe://example.org/node/${randomUUID().slice(0, 8)}`;
      const first = login({ spiffeId });
      await recordLogin(t.db, first);
      await agents.changeStatus(first.agentId, 'evict', { actor: 'test' });
      const second = login({ spiffeId, tofuKeys: [nodeKey()] });
      await expect(recordLogin(t.db, second)).resolves.toEqual({ outcome: 'recorded' });
      await agents.changeStatus(second.agentId, 'ban', { actor: 'test' });
      const third = login({ spiffeId, tofuKeys: [nodeKey()] });
      await expect(recordLogin(t.db, third)).resolves.toEqual({ outcome: 'recorded' });
      await agents.changeStatus(second.agentId, 'unban', { actor: 'test' });
      expect((await agents.get(second.agentId))?.status).toBe('evicted');
      expect(await activeWith(spiffeId)).toEqual([{ id: third.agentId }]);
    });

    it('is enforced by the database itself: no second active row with the ID can commit, inserted or reactivated', async () => {
      const spiffeId = `spiffe://example.org/node/${randomUUID().slice(0, 8)}`;
      const first = login({ spiffeId });
      await recordLogin(t.db, first);
      await new AgentsRepository(t.db.prisma).changeStatus(first.agentId, 'evict', { actor: 'test' });
      const second = login({ spiffeId, tofuKeys: [nodeKey()] });
      await recordLogin(t.db, second);
      const violation = /agents_active_spiffe_id_key|unique constraint|23505/;
      const copy = t.db.prisma.$executeRaw`
        INSERT INTO agents (id, spiffe_id, policy, attestor_types, attributes, selectors)
        VALUES (${randomUUID()}::uuid, ${spiffeId}, 'p', ARRAY['aws_iid'], '{}'::jsonb, ARRAY[]::text[])`;
      await expect(copy).rejects.toThrow(violation);
      await expect(
        t.db.prisma.$executeRaw`UPDATE agents SET status = 'active' WHERE id = ${first.agentId}::uuid`,
      ).rejects.toThrow(violation);
      expect(await activeWith(spiffeId)).toEqual([{ id: second.agentId }]);
    });
  });

  it('runs a write that keeps losing races again a bounded number of times, then answers contended', async () => {
    let rounds = 0;
    const losing = {
      runHot: async () => {
        rounds++;
        throw Object.assign(new Error('duplicate key value violates unique constraint "agents_active_spiffe_id_key"'), {
          code: '23505',
        });
      },
    };
    await expect(recordLogin(losing, login())).resolves.toEqual({ outcome: 'contended' });
    expect(rounds).toBe(10);
    const broken = { runHot: async () => Promise.reject(new Error('syntax error')) };
    await expect(recordLogin(broken, login())).rejects.toThrow('syntax error');
  });

  it('runs on connections that plan the statement generically on PostgreSQL, so it is not re-planned per login', async () => {
    await recordLogin(t.db, login());
    const [row] = await t.db.runHot<{ mode: string }>(hotStatement`SELECT current_setting('plan_cache_mode') AS mode`);
    // PGlite is one connection shared with Prisma; its setting is left alone
    expect(row?.mode).toBe(t.db.kind === 'postgres' ? 'force_generic_plan' : 'auto');
  });
});
