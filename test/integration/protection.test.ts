import { generateAgentKey } from '@apps/agent/keys';
import { completeLogin, login, problemOf, startLogin } from '../support/agent';
import { fakeNodeAttestor, heldVerifications } from '../support/fake-node-attestor';
import { startTestServer, type TestServer } from '../support/server';
import { slowloris } from '../support/slowloris';

const POLICY = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: nodes
      requiredAttestors: [{ type: test_node }]
      tofu: false
`;

describe('protection of the Agent API', () => {
  describe('cap on concurrent verification', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({
        policies: { 'nodes.yaml': POLICY },
        additionalAttestors: [fakeNodeAttestor],
        env: { ATTESTD_RATE_LIMIT_CONCURRENT_LOGINS: '2' },
      });
    });
    afterAll(() => {
      // a failed assertion must not leave completions waiting on the server's close
      heldVerifications.releaseAll();
      return server?.stop();
    });

    it('refuses completions past the cap with 429 and Retry-After, and serves them again afterwards', async () => {
      const csr = (await generateAgentKey()).csrPem;
      const proof = (i: number, hold: boolean) => ({ test_node: { node: `n${i}`, secret: 'let-me-in', hold } });
      const loginIds = await Promise.all([0, 1, 2, 3].map(() => startLogin(server, ['test_node'])));
      // two completions fill the cap and wait in verification
      const held = [0, 1].map((i) => completeLogin(server, loginIds[i]!, proof(i, true), csr));
      await heldVerifications.whenHeld(2);
      const limited = await Promise.all([2, 3].map((i) => completeLogin(server, loginIds[i]!, proof(i, false), csr)));
      expect(limited.map((r) => r.status)).toEqual([429, 429]);
      expect(limited[0]!.headers.get('retry-after')).toBe('1');
      expect(await problemOf(limited[0]!)).toMatchObject({ code: 'rate_limited' });
      heldVerifications.releaseAll();
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
      expect((await login(server, proof(9, false), csr)).status).toBe(200);
    });
  });

  describe('per-source rate limit', () => {
    let trusting: TestServer;
    let untrusting: TestServer;
    // a window of 2,000 s: no allowance comes back while a test runs, however slow the machine
    const limits = { ATTESTD_RATE_LIMIT_AGENT_PER_SECOND: '0.001', ATTESTD_RATE_LIMIT_AGENT_BURST: '2' };
    beforeAll(async () => {
      [trusting, untrusting] = await Promise.all([
        startTestServer({
          policies: { 'nodes.yaml': POLICY },
          additionalAttestors: [fakeNodeAttestor],
          env: { ...limits, ATTESTD_TRUSTED_PROXIES: '127.0.0.1' },
        }),
        startTestServer({ env: limits }),
      ]);
    });
    afterAll(async () => {
      await trusting?.stop();
      await untrusting?.stop();
    });

    const start = (server: TestServer, client: string) =>
      server.call('POST', '/v1/agent/login', {
        body: { providedMethods: ['join_token'] },
        headers: { 'x-forwarded-for': client },
      });

    it('limits each client behind a trusted proxy on its own', async () => {
      for (let i = 0; i < 2; i++) expect((await start(trusting, '198.51.100.7')).status).not.toBe(429);
      expect((await start(trusting, '198.51.100.7')).status).toBe(429);
      expect((await start(trusting, '198.51.100.8')).status).not.toBe(429);
    });

    it('limits a login spelt with percent-escapes (/v1/%61gent/login, …/%63omplete) like the plain one, and audits no refused attempt', async () => {
      const client = '198.51.100.20';
      const headers = { 'x-forwarded-for': client };
      const started = await trusting.call('POST', '/v1/%61gent/login', {
        body: { providedMethods: ['test_node'] },
        headers,
      });
      expect(started.status).toBe(200);
      const { loginId } = (await started.json()) as { loginId: string };
      const csr = (await generateAgentKey()).csrPem;
      const guess = () =>
        trusting.call('POST', `/v1/%61gent/login/${loginId}/%63omplete`, {
          body: { proofs: { test_node: { node: 'n', secret: 'a guess' } }, csr },
          headers,
        });
      expect((await guess()).status).toBe(401); // reached the handler: the second request of the burst
      for (let i = 0; i < 3; i++) expect((await guess()).status).toBe(429);
      expect((await start(trusting, client)).status).toBe(429);
      const audit = (await (await trusting.admin('GET', '/v1/audit?limit=500')).json()) as {
        items: { sourceIp: string | null; outcome: string }[];
      };
      expect(audit.items.filter((e) => e.sourceIp === client)).toEqual([
        expect.objectContaining({ outcome: 'failure' }),
      ]);
    });

    it('ignores X-Forwarded-For from a proxy it does not trust', async () => {
      for (let i = 0; i < 2; i++) await start(untrusting, `198.51.100.${i}`);
      expect((await start(untrusting, '198.51.100.99')).status).toBe(429);
    });
  });

  describe('connection limits and timeouts', () => {
    let server: TestServer;
    const PER_SOURCE = 10;
    beforeAll(async () => {
      server = await startTestServer({
        policies: { 'nodes.yaml': POLICY },
        additionalAttestors: [fakeNodeAttestor],
        env: {
          ATTESTD_HTTP_HEADERS_TIMEOUT: '2s',
          ATTESTD_HTTP_REQUEST_TIMEOUT: '3s',
          ATTESTD_HTTP_KEEP_ALIVE_TIMEOUT: '2s',
          // the attacker alone could fill the server; the per-source cap leaves room for everyone else
          ATTESTD_HTTP_MAX_CONNECTIONS: String(PER_SOURCE + 5),
          ATTESTD_HTTP_MAX_CONNECTIONS_PER_SOURCE: String(PER_SOURCE),
        },
      });
    });
    afterAll(() => server?.stop());

    it('serves logins from other sources beside a slowloris, and closes every slow connection', async () => {
      const { hostname, port } = new URL(server.url);
      // 127.0.0.2 is this machine too: another source address to the server
      const attack = slowloris({ host: hostname, port: Number(port) }, '127.0.0.2', PER_SOURCE * 2, [
        'idle',
        'header-trickle',
        'body-trickle',
        'idle-after-response',
      ]);
      try {
        const csr = (await generateAgentKey()).csrPem;
        for (let i = 0; i < 5; i++)
          expect((await login(server, { test_node: { node: `beside-${i}`, secret: 'let-me-in' } }, csr)).status).toBe(
            200,
          );
        expect(attack.opened).toBeGreaterThan(PER_SOURCE);
      } finally {
        await attack.stop(); // resolves only once the server has closed each connection: idle, trickling headers, trickling body, kept alive
      }
      const metrics = await (await server.call('GET', '/metrics')).text();
      const refused = /^attestd_http_connections_refused_total\{reason="per_source"\} (\d+)/m.exec(metrics);
      expect(Number(refused?.[1])).toBeGreaterThanOrEqual(PER_SOURCE);
    });
  });
});
