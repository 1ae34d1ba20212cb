import { createSharedDatabase } from '@test/support/server-process';
import { ConfigRepository } from './config.repository';
import { listenForConfigNotices, parseNotice, type ConfigNotice } from './config-notifications';
import { openDatabase, type Database } from './database';
import { migrate } from './migrator';
import { until } from '@libs/testing/until';

describe('parseNotice', () => {
  it('reads the section and version a push announces', () => {
    expect(parseNotice('{"section":"AgentAttestation","version":3}')).toEqual({
      section: 'AgentAttestation',
      version: 3,
    });
  });

  it.each([
    undefined,
    '',
    'not json',
    '[]',
    'null',
    '{"section":1,"version":2}',
    '{"section":"A","version":"2"}',
    '{"section":"A","version":1.5}',
  ])('ignores the malformed payload %p instead of throwing', (payload) => expect(parseNotice(payload)).toBeUndefined());
});

describe('listenForConfigNotices', () => {
  it('is inert on embedded PGlite, which one process owns', async () => {
    const listener = listenForConfigNotices({ kind: 'pglite' }, { onNotice: fail, onListening: fail, onLost: fail });
    expect(listener.listening).toBe(false);
    await listener.close();
  });

  describe('on PostgreSQL', () => {
    let scratch: { url: string; drop(): Promise<void> };
    let db: Database;
    beforeAll(async () => {
      scratch = await createSharedDatabase();
      db = await openDatabase({ kind: 'postgres', url: scratch.url });
      await migrate(db);
    });
    afterAll(async () => {
      await db?.close();
      await scratch?.drop();
    });

    it('hears each committed push, and nothing from a push of unchanged content', async () => {
      const notices: ConfigNotice[] = [];
      let listening!: () => void;
      const ready = new Promise<void>((done) => (listening = done));
      const listener = listenForConfigNotices(
        { kind: 'postgres', url: scratch.url },
        { onNotice: (n) => notices.push(n), onListening: listening, onLost: () => undefined },
      );
      try {
        await ready;
        expect(listener.listening).toBe(true);
        const repository = new ConfigRepository(db.prisma);
        const version = {
          section: 'AgentAttestation',
          document: { spec: {} },
          source: 'spec: {}',
          sha256: 'a'.repeat(64),
          createdBy: 'test',
        };
        await repository.push(version);
        await repository.push(version); // same content: no new version, no notice
        await repository.push({ ...version, sha256: 'b'.repeat(64) });
        // a NOTIFY sent after both commits arrives after theirs on the same channel
        await db.prisma.$executeRaw`SELECT pg_notify('attestd_config', '{"section":"end","version":0}')`;
        await until(() => notices.some((n) => n.section === 'end'));
        expect(notices).toEqual([
          { section: 'AgentAttestation', version: 1 },
          { section: 'AgentAttestation', version: 2 },
          { section: 'end', version: 0 },
        ]);
      } finally {
        await listener.close();
      }
      expect(listener.listening).toBe(false);
    });
  });
});

function fail(): never {
  throw new Error('the embedded listener must not call back');
}
