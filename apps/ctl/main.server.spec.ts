// attestctl against a real attestd in-process (embedded PGlite, or
// TEST_DATABASE_URL): every command through main(), as a person runs it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { login } from '@test/support/agent';
import { startTestServer, type TestServer } from '@test/support/server';
import { main, type MainOptions } from './main';

const policy = (template: string, comment = '') => `${comment}
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
      spiffeIdTemplate: "${template}"
`;

const V1 = policy('/v1/{{join_token.id}}');

describe('attestctl against attestd', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'lab.yaml': V1 } });
    dir = mkdtempSync(join(tmpdir(), 'attestctl-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(argv: string[], options: MainOptions & { token?: string | null } = {}) {
    let stdout = '';
    let stderr = '';
    const { token = server.adminToken, ...rest } = options;
    const env: NodeJS.ProcessEnv = { ATTESTD_SERVER: server.url, ...(token !== null && { ATTESTD_TOKEN: token }) };
    const status = await main(
      argv,
      env,
      { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) },
      rest,
    );
    return { status, stdout, stderr };
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  /** A new agent, logged in with a fresh join token made through attestctl. */
  async function newAgent(): Promise<{ agentId: string; spiffeId: string }> {
    const created = await run(['join-token', 'create', '-o', 'json']);
    expect(created.status).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const response = await login(server, { join_token: { token } });
    expect(response.status).toBe(200);
    return (await response.json()) as { agentId: string; spiffeId: string };
  }

  describe('config', () => {
    it('applies, gets, lists and rolls back versions', async () => {
      const v2 = policy('/v2/{{join_token.id}}');
      const applied = await run(['config', 'apply', '-f', file('v2.yaml', v2)]);
      expect(applied).toEqual({
        status: 0,
        stdout: expect.stringMatching(/^AgentAttestation version 2 \(sha256 [0-9a-f]{64}\)\n$/),
        stderr: '',
      });

      expect(await run(['config', 'get', 'AgentAttestation'])).toEqual({ status: 0, stdout: v2, stderr: '' });
      expect((await run(['config', 'get', 'AgentAttestation', '--version', '1'])).stdout).toBe(V1);
      const asJson = JSON.parse(
        (await run(['config', 'get', 'AgentAttestation', '--output', 'json'])).stdout,
      ) as Record<string, unknown>;
      expect(asJson).toMatchObject({
        section: 'AgentAttestation',
        version: 2,
        document: { spec: { policies: [{ spiffeIdTemplate: '/v2/{{join_token.id}}' }] } },
      });

      const rolled = await run(['config', 'rollback', 'AgentAttestation', '--version', '1']);
      expect(rolled).toEqual({
        status: 0,
        stdout: expect.stringMatching(
          /^AgentAttestation version 3 \(sha256 [0-9a-f]{64}\): the content of version 1\n$/,
        ),
        stderr: '',
      });
      expect((await run(['config', 'get', 'AgentAttestation'])).stdout).toBe(V1);

      const history = await run(['config', 'history', 'AgentAttestation']);
      expect(history.status).toBe(0);
      const lines = history.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^VERSION {2}SHA256 {8}CREATED {15}BY$/);
      expect(lines.slice(1)).toEqual([
        expect.stringMatching(/^1 {8}[0-9a-f]{12} {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}file:lab\.yaml$/),
        expect.stringMatching(/^2 {8}[0-9a-f]{12} {2}\S+Z {2}admin:token-[0-9a-f]{16}$/),
        expect.stringMatching(/^3 {8}[0-9a-f]{12} {2}\S+Z {2}admin:token-[0-9a-f]{16}$/),
      ]);
      expect(lines[1]!.slice(9, 21)).toBe(lines[3]!.slice(9, 21));
    });

    it('sends a .json file as JSON', async () => {
      const document = {
        section: 'AgentAttestation',
        schema: 'v1',
        spec: {
          policies: [
            { name: 'lab', requiredAttestors: [{ type: 'join_token' }], spiffeIdTemplate: '/json/{{join_token.id}}' },
          ],
        },
      };
      const applied = await run([
        'config',
        'apply',
        '-f',
        file('p.json', JSON.stringify(document, null, 2)),
        '-o',
        'json',
      ]);
      expect(applied.status).toBe(0);
      expect(JSON.parse(applied.stdout)).toMatchObject({
        section: 'AgentAttestation',
        version: expect.any(Number),
        sha256: expect.any(String),
      });
      expect((await run(['config', 'get', 'AgentAttestation'])).stdout).toBe(`${JSON.stringify(document, null, 2)}\n`);
    });

    describe('validate', () => {
      const bad = policy('/x/{{join_token.idd}}');

      it('says a good file is valid, on the server and offline', async () => {
        const good = file('good.yaml', policy('/ok/{{join_token.id}}'));
        expect(await run(['config', 'validate', '-f', good])).toEqual({
          status: 0,
          stdout: `${good}: valid AgentAttestation document\n`,
          stderr: '',
        });
        expect(await run(['config', 'validate', '-f', good, '--offline'], { token: null })).toEqual({
          status: 0,
          stdout: `${good}: valid AgentAttestation document (offline, built-in attestors)\n`,
          stderr: '',
        });
      });

      it('prints the server problem and each error as FILE:LINE:COL /path: message', async () => {
        const path = file('bad.yaml', bad);
        const result = await run(['config', 'validate', '-f', path]);
        expect(result.status).toBe(1);
        expect(result.stdout).toBe('');
        const lines = result.stderr.trimEnd().split('\n');
        expect(lines[0]).toMatch(/^attestctl: 422 invalid_config: AgentAttestation document is invalid: /);
        expect(lines[1]).toMatch(new RegExp(`^${path}:8:\\d+ /spec/policies/0/spiffeIdTemplate: .*join_token\\.idd`));
      });

      it('finds the same errors offline as the server, without a server or token', async () => {
        const path = file('bad.yaml', bad);
        const online = (await run(['config', 'validate', '-f', path])).stderr.trimEnd().split('\n').slice(1);
        const offline = await runWith(
          ['config', 'validate', '-f', path, '--offline', '--server', 'http://127.0.0.1:1'],
          {},
        );
        expect(offline.status).toBe(1);
        expect(offline.stderr).toBe(
          [
            `attestctl: ${path}: AgentAttestation document is invalid (offline, built-in attestors): 1 error`,
            ...online,
            '',
          ].join('\n'),
        );
      });

      it('prints { valid, errors } for --output json', async () => {
        const result = await run(['config', 'validate', '-f', file('bad.yaml', bad), '-o', 'json']);
        expect(result.status).toBe(1);
        expect(JSON.parse(result.stdout)).toEqual({
          valid: false,
          errors: [expect.objectContaining({ path: '/spec/policies/0/spiffeIdTemplate', line: 8 })],
        });
        const good = await run(['config', 'validate', '-f', file('good.yaml', V1), '-o', 'json']);
        expect(JSON.parse(good.stdout)).toEqual({ valid: true, warnings: [] });
      });

      describe('a template two nodes can render alike', () => {
        const named = `section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
      spiffeIdTemplate: "/lab/{{join_token.id}}"
    - name: tasks
      requiredAttestors: [{ type: aws_iam }]
      spiffeIdTemplate: "/task/{{aws_iam.session.name}}"
`;
        const warningLine = (path: string) =>
          new RegExp(
            `^${path}:10:25 /spec/policies/1/spiffeIdTemplate: warning: \\{\\{aws_iam\\.session\\.name\\}\\} can be set to the same value on two nodes .*; add \\{\\{agent\\.uuid\\}\\}\\n$`,
          );

        it('validates with the warning on stderr, on the server and offline alike, and exit 0', async () => {
          const path = file('named.yaml', named);
          const online = await run(['config', 'validate', '-f', path]);
          expect(online).toEqual({
            status: 0,
            stdout: `${path}: valid AgentAttestation document\n`,
            stderr: expect.stringMatching(warningLine(path)),
          });
          expect(online.stderr.trimEnd().split('\n')).toHaveLength(1);
          const offline = await run(['config', 'validate', '-f', path, '--offline'], { token: null });
          expect(offline).toMatchObject({ status: 0, stderr: online.stderr });
          const asJson = JSON.parse((await run(['config', 'validate', '-f', path, '-o', 'json'])).stdout) as unknown;
          expect(asJson).toEqual({
            valid: true,
            warnings: [expect.objectContaining({ path: '/spec/policies/1/spiffeIdTemplate', line: 10, column: 25 })],
          });
        });

        it('applies it, printing the warning before the new version', async () => {
          const path = file('named.yaml', named);
          const applied = await run(['config', 'apply', '-f', path]);
          expect(applied).toEqual({
            status: 0,
            stdout: expect.stringMatching(/^AgentAttestation version \d+ \(sha256 [0-9a-f]{64}\)\n$/),
            stderr: expect.stringMatching(warningLine(path)),
          });
          const asJson = JSON.parse((await run(['config', 'apply', '-f', path, '-o', 'json'])).stdout) as {
            warnings: unknown[];
          };
          expect(asJson.warnings).toEqual([expect.objectContaining({ path: '/spec/policies/1/spiffeIdTemplate' })]);
          expect((await run(['config', 'apply', '-f', file('v1.yaml', V1)])).stderr).toBe('');
        });
      });

      it('refuses to apply a bad file, placing the errors the same way', async () => {
        const path = file('bad.yaml', bad);
        const result = await run(['config', 'apply', '-f', path]);
        expect(result.status).toBe(1);
        expect(result.stderr.split('\n')[1]).toMatch(new RegExp(`^${path}:8:\\d+ /spec/policies/0/spiffeIdTemplate: `));
      });
    });

    it('answers 404 for a version that does not exist', async () => {
      expect(await run(['config', 'get', 'AgentAttestation', '--version', '999'])).toEqual({
        status: 1,
        stdout: '',
        stderr: 'attestctl: 404 not_found: AgentAttestation has no version 999\n',
      });
    });
  });

  describe('agents', () => {
    let agents: { agentId: string; spiffeId: string }[];
    beforeAll(async () => {
      agents = [await newAgent(), await newAgent(), await newAgent()];
    });

    it('lists every agent, following nextCursor across pages', async () => {
      const requested: string[] = [];
      // pages of one agent each, to make the CLI walk the cursors
      const onePerPage: typeof fetch = (input, init) => {
        const url = String(input).replace('limit=500', 'limit=1');
        requested.push(url);
        return fetch(url, init);
      };
      const result = await run(['agents', 'list'], { fetch: onePerPage });
      expect(result.status).toBe(0);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID {36}STATUS {2}POLICY {2}SPIFFE ID {2,}LAST SEEN$/);
      const ids = lines.slice(1).map((line) => line.split(/ +/)[0]);
      expect(ids.slice().sort()).toEqual(agents.map((a) => a.agentId).sort());
      for (const agent of agents) {
        expect(lines).toContainEqual(
          expect.stringMatching(
            new RegExp(`^${agent.agentId}  active  lab {5}${agent.spiffeId.replace(/[/.]/g, '\\$&')}  \\S+Z$`),
          ),
        );
      }
      expect(requested).toHaveLength(agents.length);
      expect(requested.filter((url) => url.includes('cursor='))).toHaveLength(agents.length - 1);
    });

    it('shows one agent', async () => {
      const [agent] = agents;
      const result = await run(['agents', 'show', agent!.agentId]);
      expect(result.status).toBe(0);
      expect(result.stdout).toContain(`ID:             ${agent!.agentId}\n`);
      expect(result.stdout).toContain(`SPIFFE ID:      ${agent!.spiffeId}\n`);
      expect(result.stdout).toContain('STATUS:         active\n');
      expect(result.stdout).toMatch(/\nATTRIBUTES:\n {2}join_token\.id {2}[0-9a-f-]{36}\n$/);
      const json = JSON.parse((await run(['agents', 'show', agent!.agentId, '-o', 'json'])).stdout) as Record<
        string,
        unknown
      >;
      expect(json).toMatchObject({ id: agent!.agentId, spiffeId: agent!.spiffeId, status: 'active', policy: 'lab' });
    });

    it('evicts, bans and unbans, and filters the list by status', async () => {
      const [, evicted, banned] = agents;
      expect(await run(['agents', 'evict', evicted!.agentId])).toEqual({
        status: 0,
        stdout: `agent ${evicted!.agentId} evicted (status evicted)\n`,
        stderr: '',
      });
      expect(await run(['agents', 'ban', banned!.agentId])).toEqual({
        status: 0,
        stdout: `agent ${banned!.agentId} banned (status banned)\n`,
        stderr: '',
      });
      const list = JSON.parse((await run(['agents', 'list', '--status', 'banned', '-o', 'json'])).stdout) as {
        items: { id: string }[];
      };
      expect(list.items.map((a) => a.id)).toEqual([banned!.agentId]);
      expect(await run(['agents', 'unban', banned!.agentId])).toEqual({
        status: 0,
        stdout: `agent ${banned!.agentId} unbanned (status evicted)\n`,
        stderr: '',
      });
      expect(await run(['agents', 'unban', banned!.agentId])).toEqual({
        status: 1,
        stdout: '',
        stderr: `attestctl: 400 invalid_request: agent ${banned!.agentId} is not banned\n`,
      });
    });

    it('answers 404 for an unknown agent', async () => {
      expect(await run(['agents', 'show', 'nope'])).toEqual({
        status: 1,
        stdout: '',
        stderr: 'attestctl: 404 not_found: no agent nope\n',
      });
    });

    it('lists the audit events of one agent, oldest first', async () => {
      const [, evicted] = agents;
      const result = await run(['audit', 'list', '--agent', evicted!.agentId]);
      expect(result.status).toBe(0);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^AT {20}EVENT {2}OUTCOME {2}CODE {2}AGENT {33}REASON$/);
      expect(lines.slice(1).map((line) => line.split(/ +/).slice(1, 5))).toEqual([
        ['login', 'success', '-', evicted!.agentId],
        ['evict', 'success', '-', evicted!.agentId],
      ]);
    });
  });

  describe('audit', () => {
    it('filters by outcome, limits and prints JSON newest first', async () => {
      await run(['join-token', 'create']);
      await run(['join-token', 'create']);
      const json = JSON.parse((await run(['audit', 'list', '--limit', '2', '-o', 'json'])).stdout) as {
        items: { id: string; event: string }[];
      };
      expect(json.items).toHaveLength(2);
      expect(json.items.map((e) => e.event)).toEqual(['join_token_created', 'join_token_created']);
      expect(BigInt(json.items[0]!.id)).toBeGreaterThan(BigInt(json.items[1]!.id));
      const failures = await run(['audit', 'list', '--outcome', 'failure']);
      expect(failures).toEqual({ status: 0, stdout: 'AT  EVENT  OUTCOME  CODE  AGENT  REASON\n', stderr: '' });
      const recent = await run(['audit', 'list', '--since', '1h', '--limit', '1']);
      expect(recent.stdout.trimEnd().split('\n')).toHaveLength(2);
    });

    it('follows new events, printing each once', async () => {
      let polls = 0;
      const result = await run(['audit', 'list', '--limit', '1', '--follow'], {
        maxPolls: 3,
        sleep: async () => {
          polls++;
          // between polls, something happens on the server
          if (polls === 1) await server.admin('POST', '/v1/join-tokens', { ttlSeconds: 600 });
          if (polls === 2)
            await server.admin('PUT', '/v1/config/AgentAttestation', {
              section: 'AgentAttestation',
              schema: 'v1',
              spec: {
                policies: [
                  {
                    name: 'lab',
                    requiredAttestors: [{ type: 'join_token' }],
                    spiffeIdTemplate: '/follow/{{join_token.id}}',
                  },
                ],
              },
            });
        },
      });
      expect(result.status).toBe(0);
      expect(polls).toBe(3);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^AT {20}EVENT {15}OUTCOME {2}CODE {20}AGENT {33}REASON$/);
      expect(lines.slice(1).map((line) => line.split(/ +/)[1])).toEqual([
        expect.any(String),
        'join_token_created',
        'config_change',
      ]);
    });

    it('follows as JSON lines, and stops when interrupted', async () => {
      const interrupt = new AbortController();
      const result = await run(['audit', 'list', '--limit', '1', '--follow', '-o', 'json'], {
        signal: interrupt.signal,
        sleep: async () => {
          await server.admin('POST', '/v1/join-tokens', {});
          interrupt.abort();
        },
      });
      expect(result.status).toBe(0);
      const events = result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { event: string });
      expect(events).toHaveLength(1);
    });

    it('prints a problem about a query with its errors indented', async () => {
      expect(await run(['audit', 'list', '--agent', 'not-a-uuid'])).toEqual({
        status: 1,
        stdout: '',
        stderr: 'attestctl: 400 invalid_request: agentId must be a UUID\n  agentId: must be a UUID\n',
      });
    });
  });

  describe('join-token create', () => {
    it('prints the token, its id and expiry, audits it, and the token logs a node in', async () => {
      const result = await run(['join-token', 'create', '--ttl', '2h']);
      expect(result.status).toBe(0);
      expect(result.stderr).toBe('');
      const [, token, id, expiresAt] = /^token: {4}(\S+)\nid: {7}(\S+)\nexpires: {2}(\S+)\n$/.exec(result.stdout) ?? [];
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      const ttlMinutes = (Date.parse(expiresAt!) - Date.now()) / 60_000;
      expect(ttlMinutes).toBeGreaterThan(118);
      expect(ttlMinutes).toBeLessThanOrEqual(120);

      const audit = JSON.parse(
        (await run(['audit', 'list', '--attestor', 'join_token', '--limit', '20', '-o', 'json'])).stdout,
      ) as {
        items: { event: string; attributes: Record<string, string[]> | null }[];
      };
      expect(audit.items).toContainEqual(
        expect.objectContaining({ event: 'join_token_created', attributes: { 'join_token.id': [id] } }),
      );

      const response = await login(server, { join_token: { token: token! } });
      expect(response.status).toBe(200);
    });

    it('prints the server refusal of a ttl out of range', async () => {
      const result = await run(['join-token', 'create', '--ttl', '10s']);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(
        /^attestctl: 400 invalid_request: request body is invalid: \/ttlSeconds .*\n {2}\/ttlSeconds: /,
      );
    });
  });

  describe('failures', () => {
    it('exits 1 with the server message for a wrong token', async () => {
      expect(await run(['agents', 'list'], { token: 'wrong-token-wrong-token' })).toEqual({
        status: 1,
        stdout: '',
        stderr: 'attestctl: 401 unauthenticated: a valid admin bearer token is required\n',
      });
    });

    it('says how to give a token when there is none', async () => {
      expect(await run(['agents', 'list'], { token: null })).toEqual({
        status: 1,
        stdout: '',
        stderr:
          'attestctl: 401 unauthenticated: a valid admin bearer token is required\nattestctl: no token given: set ATTESTD_TOKEN or pass --token\n',
      });
    });

    it('lets a viewer read but not write (403)', async () => {
      expect((await run(['agents', 'list'], { token: server.viewerToken })).status).toBe(0);
      expect((await run(['config', 'validate', '-f', file('v.yaml', V1)], { token: server.viewerToken })).status).toBe(
        0,
      );
      expect(await run(['join-token', 'create'], { token: server.viewerToken })).toEqual({
        status: 1,
        stdout: '',
        stderr: 'attestctl: 403 forbidden: this action needs an admin token; a viewer token may only read\n',
      });
      expect((await run(['config', 'apply', '-f', file('v.yaml', V1)], { token: server.viewerToken })).stderr).toMatch(
        /^attestctl: 403 forbidden: /,
      );
    });

    it('names the server it cannot reach', async () => {
      const closed = await closedPort();
      const result = await runWith(['agents', 'list', '--server', `http://127.0.0.1:${closed}/`], {
        ATTESTD_TOKEN: 't',
      });
      expect(result).toEqual({
        status: 1,
        stdout: '',
        stderr: expect.stringMatching(
          /^attestctl: cannot reach attestd at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\n$/,
        ),
      });
    });

    it('exits 2 on a usage error without calling the server', async () => {
      const calls: string[] = [];
      const result = await run(['agents', 'list', '--status', 'gone'], {
        fetch: (input) => (calls.push(String(input)), Promise.reject(new Error('no'))),
      });
      expect(result).toEqual({
        status: 2,
        stdout: '',
        stderr:
          'attestctl: --status must be one of active, evicted, banned, got "gone"\nrun \'attestctl --help\' for usage\n',
      });
      expect(calls).toEqual([]);
    });

    it('fails naming a file it cannot read', async () => {
      const result = await run(['config', 'apply', '-f', join(dir, 'missing.yaml')]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^attestctl: cannot read ${join(dir, 'missing.yaml')}: ENOENT`));
    });
  });

  // last: it replays the logins the tests above made (every one through the `lab` policy)
  describe('config simulate', () => {
    const denyAll = `${policy('/v1/{{join_token.id}}')}      rules:\n        - { attribute: join_token.id, equals: no-such-token }\n`;

    it('prints who a candidate would newly deny, as a table and as JSON', async () => {
      const agentIds = (
        (await (await server.admin('GET', '/v1/agents')).json()) as { items: { id: string }[] }
      ).items.map((a) => a.id);
      expect(agentIds.length).toBeGreaterThan(0);
      const path = file('deny.yaml', denyAll);
      const table = await run(['config', 'simulate', '-f', path]);
      expect(table.status).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(
        `evaluated ${agentIds.length} login attempts: 0 unchanged, 0 now allowed, ${agentIds.length} now denied, 0 changed`,
      );
      expect(lines[1]).toMatch(/^CHANGE {6}AT {20}ATTESTORS {3}AGENT {33}BEFORE +AFTER$/);
      for (const id of agentIds) {
        expect(lines).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^now denied  \\S+Z  join_token  ${id}  lab spiffe://example\\.org/\\S+ +denied: policy lab: rule 1 .*join_token\\.id`,
            ),
          ),
        );
      }

      const json = await run(['config', 'simulate', '-f', path, '--limit', '1', '-o', 'json']);
      expect(json.status).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        evaluated: 1,
        nowDenied: [{ was: { allowed: true, policy: 'lab' }, now: { allowed: false, code: 'policy_denied' } }],
        window: { limit: 1 },
      });
    });

    it('places the errors of an invalid candidate in its file', async () => {
      const path = file('bad-sim.yaml', policy('/x/{{join_token.idd}}'));
      const result = await run(['config', 'simulate', '-f', path]);
      expect(result.status).toBe(1);
      expect(result.stderr.split('\n')[0]).toMatch(/^attestctl: 422 invalid_config: /);
      expect(result.stderr.split('\n')[1]).toMatch(new RegExp(`^${path}:8:\\d+ /spec/policies/0/spiffeIdTemplate: `));
    });

    it('runs with a viewer token', async () => {
      const result = await run(['config', 'simulate', '-f', file('same.yaml', V1), '-o', 'json'], {
        token: server.viewerToken,
      });
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ nowAllowed: [], nowDenied: [] });
    });
  });
});

/** main() with a plain environment, collecting what it writes. */
async function runWith(argv: string[], env: NodeJS.ProcessEnv) {
  let stdout = '';
  let stderr = '';
  const status = await main(argv, env, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  });
  return { status, stdout, stderr };
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
