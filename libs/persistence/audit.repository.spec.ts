import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@test/support/database';
import { AuditRepository, type AuditEvent, type AuditFilter } from './audit.repository';
import { runRetentionPass } from './retention/retention-pass';

const DAY = 86_400_000;

describe('the audit list over a partitioned audit_events', () => {
  let t: TestDatabase;
  let audit: AuditRepository;
  const agentId = randomUUID();
  const now = new Date();
  beforeAll(async () => {
    t = await createTestDatabase();
    audit = new AuditRepository(t.db.prisma);
    // daily partitions for the week to come, then events over ten days: some
    // land in those partitions, older ones in the default partition
    await runRetentionPass(
      t.db,
      { auditRetentionSeconds: 30 * 86_400, agentRetentionSeconds: 0, joinTokenRetentionSeconds: 0 },
      now,
      { batchRows: 1000, lockTimeoutMs: 1000 },
    );
    for (let day = 0; day < 10; day++) {
      const at = new Date(now.getTime() + (day - 4) * DAY);
      // three events share each time, so the id orders them
      for (let i = 0; i < 3; i++) {
        await audit.append({
          event: 'login',
          outcome: i === 0 ? 'failure' : 'success',
          attestors: i === 2 ? ['aws_iid', 'k8s_psat'] : ['aws_iid'],
          ...(day % 3 === 0 && { agentId }),
          actor: at.toISOString(),
        });
      }
      await t.db.prisma.$executeRawUnsafe(
        `UPDATE audit_events SET at = actor::timestamptz, actor = NULL WHERE actor = $1`,
        at.toISOString(),
      );
    }
  });
  afterAll(() => t?.drop());

  async function everyPage(filter: Omit<AuditFilter, 'limit' | 'after'>, limit: number): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await audit.list({ ...filter, limit, ...(after && { after }) });
      events.push(...page.items);
      if (!page.nextCursor) return events;
      after = Buffer.from(page.nextCursor, 'base64url').toString('utf8');
    }
  }

  const newestFirst = (a: AuditEvent, b: AuditEvent) =>
    Date.parse(b.at) - Date.parse(a.at) || Number(BigInt(b.id) - BigInt(a.id));

  it('pages through every event newest first, by time then id, across partitions, with nothing repeated or skipped', async () => {
    const all = await everyPage({}, 4);
    expect(all).toHaveLength(30);
    expect(all).toEqual([...all].sort(newestFirst));
    expect(new Set(all.map((e) => e.id)).size).toBe(30);
    expect(all[0]).toEqual(
      expect.objectContaining({ id: expect.stringMatching(/^\d+$/), event: 'login', attestors: expect.any(Array) }),
    );
  });

  it('filters by outcome, attestor, agent and time window, page after page', async () => {
    const all = await everyPage({}, 100);
    const cases: [Omit<AuditFilter, 'limit' | 'after'>, (e: AuditEvent) => boolean][] = [
      [{ outcome: 'failure' }, (e) => e.outcome === 'failure'],
      [{ attestor: 'k8s_psat' }, (e) => e.attestors.includes('k8s_psat')],
      [{ agentId }, (e) => e.agentId === agentId],
      [
        { since: new Date(now.getTime() - 2 * DAY), until: new Date(now.getTime() + 2 * DAY) },
        (e) => Date.parse(e.at) >= now.getTime() - 2 * DAY && Date.parse(e.at) < now.getTime() + 2 * DAY,
      ],
    ];
    for (const [filter, keep] of cases) {
      const expected = all.filter(keep);
      expect(expected.length).toBeGreaterThan(0);
      expect(await everyPage(filter, 2)).toEqual(expected);
    }
  });
});
