import { Prisma } from './generated/client';
import { createTestDatabase, type TestDatabase } from '@test/support/database';
import { agentIdsByAttestorQuery, AgentsRepository } from './agents.repository';
import { attestorSetsContaining, attestorSetsQuery } from './attestor-sets';
import { auditPageQuery, AuditRepository } from './audit.repository';
import { runRetentionPass } from './retention/retention-pass';

const DAY = 86_400_000;
const ROWS = 20_000;

/**
 * The plans of the list queries with filters, on tables large enough that
 * PostgreSQL's choice matters: every read goes through an index, and none
 * walks the table to filter it. (At 1 million rows the old plans took
 * 1.1 s for a rare `attestor=` in the audit list, and 2.2 s in the agents
 * list.) Attestor sets as a fleet has them: most aws_iid, few k8s_psat with
 * aws_iid, some join_token, and azure_msi nowhere.
 */
describe('list queries with filters at scale', () => {
  let t: TestDatabase;
  // The rows end at the last instant of the current UTC day, so each daily
  // partition holds a whole day of them at any time of day: in the small
  // hours today's partition would hold a few pages, which PostgreSQL rightly
  // reads with a sequential scan.
  const now = new Date(Math.ceil((Date.now() + 1) / DAY) * DAY - 1);
  const sets = (i: string) =>
    `CASE WHEN ${i} % 100 = 0 THEN ARRAY['aws_iid','k8s_psat'] WHEN ${i} % 100 < 4 THEN ARRAY['join_token'] ELSE ARRAY['aws_iid'] END`;
  beforeAll(async () => {
    t = await createTestDatabase();
    // the daily partitions a month of retention passes leaves
    for (let day = 30; day >= 0; day--) {
      await runRetentionPass(
        t.db,
        { auditRetentionSeconds: 30 * 86_400, agentRetentionSeconds: 0, joinTokenRetentionSeconds: 0 },
        new Date(now.getTime() - day * DAY),
        { batchRows: 1000, lockTimeoutMs: 1000 },
      );
    }
    await t.db.prisma.$executeRawUnsafe(`
      INSERT INTO audit_events (at, event, outcome, attestors, policy)
      SELECT '${now.toISOString()}'::timestamptz - (i * interval '30 days' / ${ROWS}), 'login', CASE WHEN i % 10 = 0 THEN 'failure' ELSE 'success' END, ${sets('i')}, 'p'
      FROM generate_series(1, ${ROWS}) i`);
    await t.db.prisma.$executeRawUnsafe(`
      INSERT INTO agents (id, spiffe_id, status, policy, attestor_types, attributes, selectors)
      SELECT gen_random_uuid(), 'spiffe://example.org/agent/' || i, CASE WHEN i % 50 = 0 THEN 'evicted' ELSE 'active' END::"AgentStatus", 'p', ${sets('i')}, '{}'::jsonb, ARRAY[]::text[]
      FROM generate_series(1, ${ROWS}) i`);
    await t.db.prisma.$executeRawUnsafe('ANALYZE');
  }, 300_000);
  afterAll(() => t?.drop());

  interface PlanNode {
    'Node Type': string;
    'Relation Name'?: string;
    'Index Name'?: string;
    'Actual Rows'?: number;
    'Rows Removed by Filter'?: number;
    Plans?: PlanNode[];
  }

  /** the query's plan, run: each node with the rows it read */
  async function plan(query: Prisma.Sql): Promise<PlanNode[]> {
    const [row] = await t.db.prisma.$queryRaw<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
      Prisma.sql`EXPLAIN (ANALYZE, FORMAT JSON) ${query}`,
    );
    const nodes: PlanNode[] = [];
    const walk = (node: PlanNode): void => {
      nodes.push(node);
      node.Plans?.forEach(walk);
    };
    walk(row!['QUERY PLAN'][0].Plan);
    return nodes;
  }

  /**
   * Every table (partition) that holds rows is read through an index (an
   * empty partition may be scanned: there is nothing to read), and the
   * rows read and thrown away stay within a few pages, however many rows
   * the tables hold: at most `maxRead`.
   */
  function expectIndexed(nodes: PlanNode[], index: RegExp, maxRead: number): void {
    const scans = nodes.filter((node) => node['Relation Name'] !== undefined || node['Index Name'] !== undefined);
    for (const scan of scans.filter((node) => node['Node Type'] === 'Seq Scan'))
      expect({ [scan['Relation Name']!]: scan['Actual Rows'] ?? 0 }).toEqual({ [scan['Relation Name']!]: 0 });
    expect(
      scans.filter((node) => node['Node Type'] === 'Seq Scan' && (node['Rows Removed by Filter'] ?? 0) > 0),
    ).toEqual([]);
    expect(scans.map((node) => node['Index Name'] ?? '')).toContainEqual(expect.stringMatching(index));
    const read = scans.reduce(
      (sum, node) => sum + (node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0),
      0,
    );
    expect(read).toBeLessThanOrEqual(maxRead);
  }

  it('finds the attestor sets by skipping through the index, one probe per set', async () => {
    for (const table of ['agents', 'audit_events'] as const) {
      // a probe per set and per partition
      expectIndexed(await plan(attestorSetsQuery(table, 'aws_iid')), /attestor/, 200);
    }
    expect(await attestorSetsContaining(t.db.prisma, 'agents', 'aws_iid')).toEqual([
      ['aws_iid'],
      ['aws_iid', 'k8s_psat'],
    ]);
    expect(await attestorSetsContaining(t.db.prisma, 'audit_events', 'azure_msi')).toEqual([]);
  });

  it('lists agents by attestor from the attestor-set index, for a common and a rare attestor', async () => {
    for (const attestor of ['aws_iid', 'k8s_psat', 'join_token']) {
      const sets = await attestorSetsContaining(t.db.prisma, 'agents', attestor);
      for (const filter of [
        { limit: 50 },
        { limit: 50, status: 'active' as const },
        { limit: 50, after: '80000000-0000-0000-0000-000000000000' },
      ]) {
        // a page at most from each (attestor set, status) range
        expectIndexed(
          await plan(agentIdsByAttestorQuery(sets, { attestor, ...filter })!),
          /^agents_attestor_types_status_id_idx$/,
          sets.length * 3 * 51,
        );
      }
    }
    const page = await new AgentsRepository(t.db.prisma).list({ attestor: 'k8s_psat', limit: 5 });
    expect(page.items).toHaveLength(5);
    expect(page.items.every((agent) => agent.attestorTypes.includes('k8s_psat'))).toBe(true);
    expect(page.items.map((agent) => agent.id)).toEqual(page.items.map((agent) => agent.id).sort());
    expect(await new AgentsRepository(t.db.prisma).list({ attestor: 'azure_msi', limit: 5 })).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('lists audit events by attestor from the attestor-set index, in the recent day and before it', async () => {
    const split = new Date(now.getTime() - DAY);
    for (const attestor of ['aws_iid', 'k8s_psat']) {
      const sets = await attestorSetsContaining(t.db.prisma, 'audit_events', attestor);
      for (const window of [Prisma.sql`at >= ${split}`, Prisma.sql`at < ${split}`]) {
        expectIndexed(
          await plan(auditPageQuery([window], sets, 51)!),
          /^audit_events_\w*(attestors_at_id_idx|pkey)$/,
          sets.length * 2 * 51,
        );
      }
    }
    const audit = new AuditRepository(t.db.prisma);
    const page = await audit.list({ attestor: 'k8s_psat', limit: 5 });
    expect(page.items.every((event) => event.attestors.includes('k8s_psat'))).toBe(true);
    expect(page.items).toHaveLength(5);
    expect(await audit.list({ attestor: 'azure_msi', limit: 5 })).toEqual({ items: [], nextCursor: null });
  });

  it('reads a one-day window 28 days back from that day partition by the primary key', async () => {
    const since = new Date(now.getTime() - 28 * DAY);
    const until = new Date(now.getTime() - 27 * DAY);
    const nodes = await plan(
      auditPageQuery(
        [Prisma.sql`at >= ${since}`, Prisma.sql`at < ${until}`, Prisma.sql`at < ${new Date(now.getTime() - DAY)}`],
        undefined,
        51,
      )!,
    );
    expectIndexed(nodes, /^audit_events_p\d{8}_pkey$/, 2 * 51);
    // only the partitions that hold that day: at most two, by the day's bounds
    expect(nodes.filter((node) => node['Relation Name']?.startsWith('audit_events')).length).toBeLessThanOrEqual(2);
    const page = await new AuditRepository(t.db.prisma).list({ since, until, limit: 5 });
    expect(
      page.items.every((event) => Date.parse(event.at) >= since.getTime() && Date.parse(event.at) < until.getTime()),
    ).toBe(true);
    expect(page.items).toHaveLength(5);
  });
});
