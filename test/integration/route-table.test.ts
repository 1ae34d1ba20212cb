import { spellings } from '../support/paths';
import { startTestServer, type TestServer } from '../support/server';

/** Routes anyone may call (`operations.md`, "Security"): agent, open and health endpoints. */
const OPEN = [
  /^\/v1\/agent\//,
  /^\/healthz$/,
  /^\/readyz$/,
  /^\/v1\/bundle$/,
  /^\/metrics$/,
  /^\/\.well-known\/openid-configuration$/,
  /^\/\.well-known\/spiffe-bundle$/,
  /^\/keys$/,
  /^\/docs(\/|$)/,
];
const AGENT = /^\/v1\/agent\//;
const BURST = 2;

const fill = (name: string) => (name === 'section' ? 'AgentAttestation' : '00000000-0000-4000-8000-000000000000');

describe('the route table', () => {
  let server: TestServer;
  let source = 0;
  /** a client address of its own (through the trusted X-Forwarded-For), so each check starts with a full bucket */
  const newSource = () => `203.0.113.${++source}`;
  const send = (method: string, path: string, from: string, token?: string) =>
    server.call(method, path, {
      headers: { 'x-forwarded-for': from },
      ...(token && { token }),
      ...(method !== 'GET' && method !== 'DELETE' && { body: {} }),
    });

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        ATTESTD_TRUSTED_PROXIES: '127.0.0.1',
        ATTESTD_RATE_LIMIT_AGENT_BURST: String(BURST),
        ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '0.001',
      },
    });
  });
  afterAll(() => server?.stop());

  const walk = (pick: (url: string) => boolean) =>
    server.server.routes.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && pick(r.url));

  it('has admin routes, and every one of them refuses a request without a token, however its path is spelt', async () => {
    const admin = walk((url) => !OPEN.some((open) => open.test(url)));
    expect(admin.length).toBeGreaterThanOrEqual(10);
    for (const route of admin) {
      for (const path of spellings(route.url, fill)) {
        const response = await send(route.method, path, newSource());
        expect({ route: `${route.method} ${path}`, status: response.status }).toEqual({
          route: `${route.method} ${path}`,
          status: 401,
        });
      }
    }
  });

  it('limits every Agent API route per source, however its path is spelt, in one bucket per source', async () => {
    const agent = walk((url) => AGENT.test(url));
    expect(agent.map((r) => r.url)).toEqual(
      expect.arrayContaining([
        '/v1/agent/login',
        '/v1/agent/login/:loginId/complete',
        '/v1/agent/renew',
        '/v1/agent/jwt-svid',
      ]),
    );
    for (const route of agent) {
      const [plain, ...escaped] = spellings(route.url, fill);
      for (const path of [plain!, ...escaped]) {
        const from = newSource();
        for (let i = 0; i < BURST; i++)
          expect({ path, status: (await send(route.method, path, from)).status }).not.toEqual({ path, status: 429 });
        expect({ path, status: (await send(route.method, path, from)).status }).toEqual({ path, status: 429 });
      }
      // the plain spelling and the escaped ones draw on the same allowance
      const from = newSource();
      for (let i = 0; i < BURST; i++) await send(route.method, plain!, from);
      for (const path of escaped)
        expect({ path, status: (await send(route.method, path, from)).status }).toEqual({ path, status: 429 });
    }
  });

  it('does not limit the open routes outside the Agent API', async () => {
    const open = walk((url) => OPEN.some((o) => o.test(url)) && !AGENT.test(url) && !url.startsWith('/docs'));
    expect(open.length).toBeGreaterThanOrEqual(5);
    for (const route of open) {
      const from = newSource();
      for (const path of [...spellings(route.url, fill), ...spellings(route.url, fill)]) {
        expect({ path, status: (await send(route.method, path, from)).status }).not.toEqual({ path, status: 429 });
      }
    }
    expect(server.server.routes.filter((r) => r.rateLimited).every((r) => AGENT.test(r.url))).toBe(true);
  });
});
