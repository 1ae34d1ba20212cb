import { DATABASE } from '@apps/server/database/database.module';
import type { Database } from '@libs/persistence';
import { login, newJoinToken, problemOf } from '../support/agent';
import { runAsAdmin } from '../support/database';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The database going away: on a PostgreSQL server it refuses connections
 * and drops the server's; embedded, the database is closed under the server.
 */
describe('when the database is unreachable', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'lab.yaml': joinTokenPolicy() } });
  });
  afterAll(() => server?.stop());

  const adminUrl = process.env.TEST_DATABASE_URL;
  const name = () => new URL(server.databaseUrl!).pathname.slice(1);

  async function cutDatabase(): Promise<void> {
    if (!adminUrl) return server.server.app.get<symbol, Database>(DATABASE).close();
    await runAsAdmin(adminUrl, `ALTER DATABASE ${name()} ALLOW_CONNECTIONS false`);
    await runAsAdmin(adminUrl, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name()}'`);
  }

  it('fails readiness and logins with 503, records nothing, and recovers when it is back', async () => {
    const { token } = await newJoinToken(server);
    expect((await server.call('GET', '/readyz')).status).toBe(200);
    await cutDatabase();
    expect((await server.call('GET', '/healthz')).status).toBe(200);
    expect(await problemOf(await server.call('GET', '/readyz'))).toMatchObject({ status: 503, code: 'unavailable' });
    expect(await problemOf(await login(server, { join_token: { token } }))).toMatchObject({
      status: 503,
      code: 'unavailable',
    });
    if (!adminUrl) return; // an embedded database closed under the server does not come back
    await runAsAdmin(adminUrl, `ALTER DATABASE ${name()} ALLOW_CONNECTIONS true`);
    expect((await server.call('GET', '/readyz')).status).toBe(200);
    expect((await login(server, { join_token: { token } })).status).toBe(200); // the token was not used up by the failed attempt
  });
});
