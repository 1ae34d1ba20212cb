import { startTestServer, type TestServer } from '../support/server';

/** Routes anyone may call (`operations.md`, "Security"): agent, open and health endpoints. */
const OPEN = [/^\/v1\/agent\//, /^\/healthz$/, /^\/readyz$/, /^\/v1\/bundle$/, /^\/metrics$/, /^\/\.well-known\/openid-configuration$/, /^\/keys$/, /^\/docs(\/|$)/];

describe('the route table', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('has admin routes, and every one of them refuses a request without a token', async () => {
    const admin = server.server.routes.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && !OPEN.some((open) => open.test(r.url)));
    expect(admin.length).toBeGreaterThanOrEqual(10);
    for (const route of admin) {
      const path = route.url.replace(/:(\w+)/g, (_m, name: string) => (name === 'section' ? 'AgentAttestation' : '00000000-0000-4000-8000-000000000000'));
      const response = await server.call(route.method, path, route.method === 'GET' || route.method === 'DELETE' ? {} : { body: {} });
      expect({ route: `${route.method} ${route.url}`, status: response.status }).toEqual({ route: `${route.method} ${route.url}`, status: 401 });
    }
  });
});
