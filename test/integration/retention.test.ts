import { randomBytes, randomUUID } from 'node:crypto';
import { DATABASE } from '@apps/server/database/database.module';
import { RetentionService } from '@apps/server/retention/retention.service';
import { INSTRUMENTS, prometheusName } from '@apps/server/telemetry/instruments';
import type { Database } from '@libs/persistence';
import { until } from '@libs/testing/until';
import { login, newJoinToken } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';

// The retention job inside a running server (docs/operations/retention.md):
// a pass at start makes the audit partitions ahead; each pass deletes what
// has expired, counts it in attestd.retention.pruned and logs one line.

describe('the retention job of a running server', () => {
  let server: TestServer;
  let db: Database;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'agents.yaml': joinTokenPolicy() } });
    db = server.server.app.get<Database>(DATABASE);
  });
  afterAll(() => server?.stop());

  const passes = () => server.logs.filter((line) => line.msg === 'retention: pass finished');
  const sql = <T>(text: string, ...values: unknown[]) => db.prisma.$queryRawUnsafe<T[]>(text, ...values);

  it('runs a pass at start that makes the audit partitions ahead, so a login is audited in the partition of its day', async () => {
    expect(await until(() => passes().length > 0)).toBe(true);
    const { token } = await newJoinToken(server);
    expect((await login(server, { join_token: { token } })).status).toBe(200);
    const [row] = await sql<{ partition: string }>(
      `SELECT tableoid::regclass::text AS partition FROM audit_events WHERE event = 'login' ORDER BY at DESC LIMIT 1`,
    );
    expect(row!.partition).toMatch(/^audit_events_p\d{8}$/);
  });

  it('deletes expired rows, counts them by table in attestd.retention.pruned, and logs the pass with its counts and duration', async () => {
    const longExpired = new Date(Date.now() - 30 * 86_400_000).toISOString();
    await sql(
      `INSERT INTO used_nonces (kind, value, expires_at) SELECT 'jti', md5(random()::text), $1::timestamptz FROM generate_series(1, 12) RETURNING 1`,
      longExpired,
    );
    await sql(
      `INSERT INTO join_tokens (id, token_hash, expires_at, created_by) VALUES ($1::uuid, $2, $3::timestamptz, 'test') RETURNING 1`,
      randomUUID(),
      randomBytes(16).toString('hex'),
      longExpired,
    );
    const before = passes().length;

    const result = await server.server.app.get(RetentionService).runPass();

    expect(result?.pruned).toMatchObject({ used_nonces: 12, join_tokens: 1 });
    const line = passes()[before];
    expect(line).toMatchObject({
      level: 30,
      pruned: { used_nonces: 12, join_tokens: 1, audit_events: 0, agents: 0, tofu_keys: 0 },
      durationMs: expect.any(Number),
    });
    const text = await (await server.call('GET', '/metrics')).text();
    const counter = prometheusName(INSTRUMENTS.retentionPruned);
    const value = (table: string) =>
      Number(new RegExp(`^${counter}\\{table="${table}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect({ used_nonces: value('used_nonces'), join_tokens: value('join_tokens'), agents: value('agents') }).toEqual({
      used_nonces: 12,
      join_tokens: 1,
      agents: 0,
    });
  });
});
