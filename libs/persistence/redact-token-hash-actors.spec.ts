import { createScratchDatabase } from '@test/support/database';
import { openDatabase, type Database } from './database';
import { migrate, readMigrations } from './migrator';

const REDACTION = '20261203040000_redact_token_hash_actors';

/** Rows written before the redaction migration named admin tokens by a prefix of their unsalted SHA-256. */
describe(`migration ${REDACTION}`, () => {
  let db: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const scratch = await createScratchDatabase();
    drop = scratch.drop;
    db = await openDatabase(scratch.url ? { kind: 'postgres', url: scratch.url } : { kind: 'pglite' });
    await migrate(
      db,
      readMigrations().filter((m) => m.name < REDACTION),
    );
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('replaces each hash-prefix name by one random name in every table, and leaves other names alone', async () => {
    const [alice, bob] = ['admin:0123456789ab', 'viewer:ba9876543210'];
    await db.runScript(`
      INSERT INTO config_versions (section, version, document, source, sha256, created_by) VALUES
        ('AgentAttestation', 1, '{}', '', 'x', 'file:lab.yaml'), ('AgentAttestation', 2, '{}', '', 'y', '${alice}');
      INSERT INTO join_tokens (id, token_hash, expires_at, created_by) VALUES ('00000000-0000-4000-8000-000000000001', 'h', now(), '${alice}');
      INSERT INTO audit_events (event, outcome, attestors, actor) VALUES ('config_pushed', 'success', '{}', '${alice}'), ('agent_banned', 'success', '{}', '${bob}'),
        ('login', 'failure', '{}', NULL), ('agent_evicted', 'success', '{}', 'admin:token-0123456789abcdef');
    `);
    await migrate(db);
    const names = async (sql: string) =>
      (await db.prisma.$queryRawUnsafe<{ name: string | null }[]>(sql)).map((r) => r.name);
    const versions = await names('SELECT created_by AS name FROM config_versions ORDER BY version');
    const tokens = await names('SELECT created_by AS name FROM join_tokens');
    const actors = await names('SELECT actor AS name FROM audit_events ORDER BY id');
    expect(versions[0]).toBe('file:lab.yaml');
    expect(versions[1]).toMatch(/^admin:legacy-[0-9a-f]{12}$/);
    expect(tokens).toEqual([versions[1]]);
    expect(actors).toEqual([
      versions[1],
      expect.stringMatching(/^viewer:legacy-[0-9a-f]{12}$/),
      null,
      'admin:token-0123456789abcdef',
    ]);
    expect(actors[1]).not.toContain('ba9876543210');
    expect(versions[1]).not.toContain('0123456789ab');
  });
});
