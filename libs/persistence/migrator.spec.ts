import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { migrate, readMigrations } from './migrator';

describe('migrator', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

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
