import { randomUUID } from 'node:crypto';
import { createScratchDatabase, createTestDatabase, type TestDatabase } from '@test/support/database';
import { openDatabase, type Database } from './database';
import { migrate, readMigrations } from './migrator';

describe('migrator', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t?.drop());

  it('records every migration in _prisma_migrations with its checksum', async () => {
    const rows = await t.db.prisma.$queryRawUnsafe<{ migration_name: string; checksum: string }[]>(
      'SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows).toEqual(readMigrations().map((m) => ({ migration_name: m.name, checksum: m.checksum })));
  });

  it('applies nothing the second time', async () => {
    await expect(migrate(t.db)).resolves.toEqual([]);
  });

  it('refuses to start when an applied migration was edited', async () => {
    const edited = readMigrations().map((m) => ({ ...m, checksum: '0'.repeat(64) }));
    await expect(migrate(t.db, edited)).rejects.toThrow(/was modified after it was applied/);
  });

  it('creates a schema the Prisma client can use', async () => {
    await expect(t.db.prisma.agent.count()).resolves.toBe(0);
  });
});

describe('migration 20261203020000 (one active agent per SPIFFE ID)', () => {
  const UNIQUE_IDS = '20261203020000_agents_active_spiffe_id_unique';
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    scratch = await createScratchDatabase();
    db = await openDatabase(scratch.url ? { kind: 'postgres', url: scratch.url } : { kind: 'pglite' });
    await migrate(
      db,
      readMigrations().filter((m) => m.name < UNIQUE_IDS),
    );
  });
  afterAll(async () => {
    await db?.close();
    await scratch?.drop();
  });

  it('keeps the first-attested of agents that already share one, evicts and audits the others, and then refuses a new twin', async () => {
    const shared = 'spiffe://example.org/node/web-1';
    const agents = [
      { id: randomUUID(), spiffeId: shared, at: '2026-11-01T00:00:00Z', status: 'active' },
      { id: randomUUID(), spiffeId: shared, at: '2026-11-02T00:00:00Z', status: 'active' },
      { id: randomUUID(), spiffeId: shared, at: '2026-11-03T00:00:00Z', status: 'active' },
      { id: randomUUID(), spiffeId: shared, at: '2026-10-01T00:00:00Z', status: 'evicted' },
      { id: randomUUID(), spiffeId: 'spiffe://example.org/node/web-2', at: '2026-11-04T00:00:00Z', status: 'active' },
    ];
    for (const a of agents) {
      await db!.prisma.$executeRaw`
        INSERT INTO agents (id, spiffe_id, status, policy, attestor_types, attributes, selectors, first_attested_at)
        VALUES (${a.id}::uuid, ${a.spiffeId}, ${a.status}::"AgentStatus", 'web', ARRAY['aws_iid'], '{}'::jsonb, ARRAY[]::text[], ${a.at}::timestamptz)`;
      await db!.prisma
        .$executeRaw`INSERT INTO tofu_keys (key, agent_id, active) VALUES (${`aws_iid/${a.id}`}, ${a.id}::uuid, ${a.status === 'active'})`;
    }
    await expect(migrate(db!)).resolves.toContain(UNIQUE_IDS);

    const after = await db!.prisma.agent.findMany({
      select: { id: true, status: true, tofuKeys: { select: { active: true } } },
    });
    const state = (id: string) => after.find((a) => a.id === id);
    expect(state(agents[0]!.id)).toEqual({ id: agents[0]!.id, status: 'active', tofuKeys: [{ active: true }] });
    for (const later of [agents[1]!, agents[2]!])
      expect(state(later.id)).toEqual({ id: later.id, status: 'evicted', tofuKeys: [{ active: false }] });
    expect(state(agents[4]!.id)?.status).toBe('active');
    const audit = await db!.prisma.auditEvent.findMany({
      where: { event: 'evict' },
      select: { agentId: true, actor: true, spiffeId: true, outcome: true },
    });
    expect(audit.map((e) => e.agentId).sort()).toEqual([agents[1]!.id, agents[2]!.id].sort());
    expect(audit.every((e) => e.actor === 'migration' && e.spiffeId === shared && e.outcome === 'success')).toBe(true);

    const twin = db!.prisma.$executeRaw`
      INSERT INTO agents (id, spiffe_id, policy, attestor_types, attributes, selectors) VALUES (${randomUUID()}::uuid, ${shared}, 'web', ARRAY['aws_iid'], '{}'::jsonb, ARRAY[]::text[])`;
    await expect(twin).rejects.toThrow(/agents_active_spiffe_id_key|unique constraint|23505/);
  });
});
