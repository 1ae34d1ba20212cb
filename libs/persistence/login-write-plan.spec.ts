import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@test/support/database';
import { loginRecord } from '@test/support/login-record';
import type { HotStatement, MaintenanceSession } from './database';
import { recordLogin, recordLogins } from './login-write';

// The hot pool plans the login write once, generically (database.ts). A
// generic plan cannot see how many TOFU keys or logins a call brings, so a
// set-returning function in it was estimated at 100 rows, and from about
// 5,000 to 25,000 agents PostgreSQL preferred scanning the whole of
// tofu_keys to 100 index probes: 3-7 times the write's CPU per login.

/** agents, each with a TOFU key, and as many unused join tokens */
const SEEDED_AGENTS = 10_000;
const SEEDED = ['agents', 'tofu_keys', 'join_tokens'];
const PLAN_LOCK = 0x706c616e; // "plan": a session of its own

/** The statement a login write sends, captured from a runner that writes nothing. */
async function statementOf(
  write: (runner: { runHot: <Row>(s: HotStatement) => Promise<Row[]> }) => Promise<unknown>,
): Promise<HotStatement> {
  let sent: HotStatement | undefined;
  const capture = {
    runHot: async <Row>(statement: HotStatement): Promise<Row[]> => {
      sent = statement;
      throw new Error('captured');
    },
  };
  await write(capture).catch(() => undefined);
  return sent!;
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** Relations the generic plan of `statement` reads with a sequential scan. */
async function seqScannedBy(session: MaintenanceSession, statement: HotStatement): Promise<string[]> {
  await session.query('SET plan_cache_mode = force_generic_plan');
  try {
    await session.query(`PREPARE login_write_plan AS ${statement.text}`);
    try {
      const rows = await session.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (FORMAT JSON) EXECUTE login_write_plan(${statement.values.map(literal).join(', ')})`,
      );
      const plan = rows[0]!['QUERY PLAN'];
      return seqScans(typeof plan === 'string' ? JSON.parse(plan) : plan);
    } finally {
      await session.query('DEALLOCATE login_write_plan');
    }
  } finally {
    await session.query('RESET plan_cache_mode');
  }
}

function seqScans(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(seqScans);
  if (!node || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  const here = n['Node Type'] === 'Seq Scan' ? [String(n['Relation Name'])] : [];
  return [...here, ...Object.values(n).flatMap(seqScans)];
}

describe('the login write plan with 10,000 agents', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
    await t.db.runScript(`
      INSERT INTO agents (id, spiffe_id, policy, attestor_types, attributes, selectors, svid_serial, svid_expires_at)
      SELECT gen_random_uuid(), 'spiffe://example.org/seed/' || g, 'seed', ARRAY['join_token'], '{}'::jsonb, ARRAY['token_id:' || g], md5(g::text), now() + interval '1 hour'
      FROM generate_series(1, ${SEEDED_AGENTS}) g;
      INSERT INTO tofu_keys (key, agent_id) SELECT 'seed/' || spiffe_id, id FROM agents WHERE policy = 'seed';
      INSERT INTO join_tokens (id, token_hash, expires_at, created_by)
      SELECT gen_random_uuid(), md5('seed/' || g), now() + interval '1 hour', 'seed' FROM generate_series(1, ${SEEDED_AGENTS}) g;
      ANALYZE;`);
  });
  afterAll(() => t?.drop());

  /** Tables of this size the generic plan of `statement` reads whole. */
  async function seqScansOf(statement: HotStatement): Promise<string[]> {
    const scanned = await t.db.withExclusiveSession(PLAN_LOCK, (session) => seqScannedBy(session, statement));
    return scanned!.value.filter((table) => SEEDED.includes(table));
  }

  it('reads agents, TOFU keys and join tokens through their indexes when planned generically, for one login', async () => {
    const statement = await statementOf((runner) => recordLogin(runner, loginRecord({ joinTokenId: randomUUID() })));
    expect(await seqScansOf(statement)).toEqual([]);
  });

  it('reads agents, TOFU keys and join tokens through their indexes when planned generically, for a batch of logins', async () => {
    const statement = await statementOf((runner) =>
      recordLogins(
        runner,
        Array.from({ length: 32 }, () => loginRecord({ joinTokenId: randomUUID() })),
      ),
    );
    expect(await seqScansOf(statement)).toEqual([]);
  });
});
