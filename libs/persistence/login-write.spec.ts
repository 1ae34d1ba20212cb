import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { AgentsRepository } from './agents.repository';
import { hotStatement } from './database';
import { recordLogin, type LoginRecord } from './login-write';

describe('recordLogin (the single login write)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  function login(overrides: Partial<LoginRecord> = {}): LoginRecord {
    const agentId = randomUUID();
    return {
      loginNonce: randomUUID(),
      loginExpiresAt: new Date(Date.now() + 300_000),
      agentId,
      spiffeId: `spiffe://example.org/agent/${agentId}`,
      policy: 'p',
      attestorTypes: ['aws_iid'],
      attributes: { 'aws_iid.account.id': ['123456789012'] },
      selectors: ['aws_iid:instance:id:i-1'],
      tofuKeys: [`aws_iid/123456789012/us-east-1/i-${randomUUID().slice(0, 8)}`],
      tofu: true,
      svidSerial: 'ab',
      svidExpiresAt: new Date(Date.now() + 3600_000),
      ...overrides,
    };
  }

  async function auditFor(agentId: string) {
    return t.db.prisma.auditEvent.findMany({ where: { agentId }, orderBy: { id: 'asc' } });
  }

  it('records the agent, its TOFU keys and a success audit event together', async () => {
    const l = login();
    await expect(recordLogin(t.db, l)).resolves.toEqual({ outcome: 'recorded' });
    const agent = await new AgentsRepository(t.db.prisma).get(l.agentId);
    expect(agent).toMatchObject({ spiffeId: l.spiffeId, status: 'active', tofuKeys: l.tofuKeys, svidSerial: 'ab' });
    expect(await auditFor(l.agentId)).toEqual([expect.objectContaining({ event: 'login', outcome: 'success', spiffeId: l.spiffeId })]);
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
    await expect(recordLogin(t.db, login({ tofuKeys: first.tofuKeys }))).resolves.toMatchObject({ outcome: 'agent_banned' });
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
    const attempts = Array.from({ length: 20 }, () => login({ joinTokenId: tokenId, tofuKeys: [`join_token/${tokenId}`] }));
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

  it('runs on connections that plan the statement generically on PostgreSQL, so it is not re-planned per login', async () => {
    await recordLogin(t.db, login());
    const [row] = await t.db.runHot<{ mode: string }>(hotStatement`SELECT current_setting('plan_cache_mode') AS mode`);
    // PGlite is one connection shared with Prisma; its setting is left alone
    expect(row?.mode).toBe(t.db.kind === 'postgres' ? 'force_generic_plan' : 'auto');
  });
});
