// main() against a scripted fetch: answers the real server does not give
// (a proxy's HTML page, a simulation, an outage during --follow).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main, type MainOptions } from './main';

type Answer = { status: number; body: string; type?: string };

/** Answers in order; every request is recorded. A request beyond the script fails the test. */
function scripted(answers: Answer[]) {
  const requests: { url: string; method: string; headers: Record<string, string>; body?: string }[] = [];
  const fake = (async (input: string | URL | Request, init?: RequestInit) => {
    requests.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers: init?.headers as Record<string, string>,
      ...(typeof init?.body === 'string' && { body: init.body }),
    });
    const answer = answers.shift();
    if (!answer) throw new Error(`unexpected request ${String(input)}`);
    return new Response(answer.body, {
      status: answer.status,
      headers: { 'content-type': answer.type ?? 'application/json' },
    });
  }) as typeof globalThis.fetch;
  return { fetch: fake, requests };
}

const problem = (status: number, code: string, detail: string, extra: object = {}): Answer => ({
  status,
  type: 'application/problem+json',
  body: JSON.stringify({ type: `urn:attestd:problem:${code}`, title: code, status, code, detail, ...extra }),
});

async function run(argv: string[], options: MainOptions = {}) {
  let stdout = '';
  let stderr = '';
  const env = { ATTESTD_SERVER: 'http://attestd.test:8080', ATTESTD_TOKEN: 'admin-token' };
  const status = await main(
    argv,
    env,
    { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
    options,
  );
  return { status, stdout, stderr };
}

const event = (id: number, event = 'login') => ({
  id: String(id),
  at: new Date(Date.UTC(2025, 0, 1, 0, 0, id)).toISOString(),
  event,
  outcome: 'success',
  code: null,
  reason: null,
  attestors: [],
  policy: null,
  attributes: null,
  spiffeId: null,
  agentId: null,
  sourceIp: null,
  requestId: null,
  actor: null,
});

describe('attestctl main', () => {
  it('prints the usage for --help and exits 0', async () => {
    const result = await run(['--help']);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/^usage: attestctl /);
  });

  it("prints a group's and a command's page, and asks no server", async () => {
    const server = scripted([]);
    const agents = await run(['agents', '--help'], { fetch: server.fetch });
    expect(agents).toMatchObject({ status: 0, stderr: '' });
    expect(agents.stdout).toMatch(/^usage: attestctl \[global flags\] agents COMMAND/);
    const apply = await run(['config', 'apply', '--help'], { fetch: server.fetch });
    expect(apply.stdout).toMatch(/^usage: attestctl \[global flags\] config apply -f FILE/);
    expect(server.requests).toEqual([]);
  });

  it("prints package.json's version for --version", async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(await run(['--version'])).toEqual({ status: 0, stdout: `attestctl ${version}\n`, stderr: '' });
  });

  it('sends the bearer token and a YAML body with its media type', async () => {
    const server = scripted([
      {
        status: 200,
        body: JSON.stringify({
          section: 'AgentAttestation',
          version: 4,
          sha256: 'ab'.repeat(32),
          createdAt: '2025-01-01T00:00:00.000Z',
        }),
      },
    ]);
    const text = 'section: AgentAttestation\nschema: v1\nspec: { policies: [] }\n';
    const result = await run(['config', 'apply', '-f', 'p.yml'], { fetch: server.fetch, readText: async () => text });
    expect(result).toEqual({
      status: 0,
      stdout: `AgentAttestation version 4 (sha256 ${'ab'.repeat(32)})\n`,
      stderr: '',
    });
    expect(server.requests).toEqual([
      {
        url: 'http://attestd.test:8080/v1/config/AgentAttestation',
        method: 'PUT',
        headers: expect.objectContaining({ authorization: 'Bearer admin-token', 'content-type': 'application/yaml' }),
        body: text,
      },
    ]);
  });

  it('describes an answer that is not a problem document', async () => {
    const server = scripted([{ status: 502, body: '<html>bad gateway</html>', type: 'text/html' }]);
    expect(await run(['agents', 'list'], { fetch: server.fetch })).toEqual({
      status: 1,
      stdout: '',
      stderr: 'attestctl: 502 unexpected_response: answer is not a JSON document (text/html)\n',
    });
  });

  it('cleans control characters out of a problem before printing it', async () => {
    const server = scripted([
      problem(400, 'invalid_request', 'bad\u001b[2J thing', { errors: [{ path: '/x', message: 'no\rpe' }] }),
    ]);
    expect((await run(['agents', 'show', 'x'], { fetch: server.fetch })).stderr).toBe(
      'attestctl: 400 invalid_request: bad [2J thing\n  /x: no pe\n',
    );
  });

  it('prints a simulation summary and a table of the changed logins', async () => {
    const item = (allowed: boolean, code: string | null) => ({
      auditId: '7',
      at: '2025-01-01T00:00:00.123Z',
      attestors: ['join_token'],
      agentId: allowed ? null : 'a1',
      sourceIp: '127.0.0.1',
      attributes: { 'join_token.id': ['t1'] },
      was: {
        allowed: !allowed,
        outcome: allowed ? 'failure' : 'success',
        code,
        policy: 'lab',
        spiffeId: allowed ? null : 'spiffe://example.org/a',
      },
      now: allowed
        ? { allowed: true, code: null, policy: 'lab', spiffeId: 'spiffe://example.org/b', reason: null }
        : {
            allowed: false,
            code: 'policy_denied',
            policy: 'lab',
            spiffeId: null,
            reason: 'policy lab: rule 1 does not hold',
          },
    });
    const body = {
      evaluated: 10,
      unchanged: 8,
      nowAllowed: [item(true, 'policy_denied')],
      nowDenied: [item(false, null)],
      changed: [],
      skipped: 2,
      window: { limit: 50, since: null, oldest: null, newest: null },
    };
    const server = scripted([{ status: 200, body: JSON.stringify(body) }]);
    const result = await run(['config', 'simulate', '-f', 'p.yaml', '--limit', '50', '--since', '1h'], {
      fetch: server.fetch,
      readText: async () => 'section: AgentAttestation\n',
      now: () => new Date('2025-01-01T01:00:00Z'),
    });
    expect(result).toEqual({
      status: 0,
      stdout: [
        'evaluated 10 login attempts: 8 unchanged, 1 now allowed, 1 now denied, 0 changed; 2 skipped (no verified proof recorded)',
        'CHANGE       AT                    ATTESTORS   AGENT  BEFORE                      AFTER',
        'now allowed  2025-01-01T00:00:00Z  join_token  -      denied (policy_denied)      lab spiffe://example.org/b',
        'now denied   2025-01-01T00:00:00Z  join_token  a1     lab spiffe://example.org/a  denied: policy lab: rule 1 does not hold',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(server.requests[0]).toMatchObject({
      method: 'POST',
      url: 'http://attestd.test:8080/v1/config/AgentAttestation/simulate?limit=50&since=2025-01-01T00%3A00%3A00.000Z',
    });
    const json = await run(['config', 'simulate', '-f', 'p.yaml', '-o', 'json'], {
      fetch: scripted([{ status: 200, body: JSON.stringify(body) }]).fetch,
      readText: async () => 'section: AgentAttestation\n',
    });
    expect(JSON.parse(json.stdout)).toEqual(body);
  });

  it('fetches audit pages until it has --limit events', async () => {
    const server = scripted([
      { status: 200, body: JSON.stringify({ items: [event(5), event(4)], nextCursor: 'c1' }) },
      { status: 200, body: JSON.stringify({ items: [event(3)], nextCursor: 'c2' }) },
    ]);
    const result = await run(['audit', 'list', '--limit', '3', '--since', '1h', '-o', 'json'], {
      fetch: server.fetch,
      now: () => new Date('2025-01-01T01:00:00Z'),
    });
    expect((JSON.parse(result.stdout) as { items: { id: string }[] }).items.map((e) => e.id)).toEqual(['5', '4', '3']);
    expect(server.requests.map((r) => r.url)).toEqual([
      'http://attestd.test:8080/v1/audit?since=2025-01-01T00%3A00%3A00.000Z&limit=3',
      'http://attestd.test:8080/v1/audit?since=2025-01-01T00%3A00%3A00.000Z&limit=1&cursor=c1',
    ]);
  });

  it('waits out an outage while following, and stops on a refusal', async () => {
    const server = scripted([
      { status: 200, body: JSON.stringify({ items: [event(1)], nextCursor: null }) },
      problem(503, 'unavailable', 'the database is unreachable'),
      { status: 200, body: JSON.stringify({ items: [event(2, 'ban'), event(1)], nextCursor: null }) },
      problem(401, 'unauthenticated', 'a valid admin bearer token is required'),
    ]);
    const sleeps: number[] = [];
    const result = await run(['audit', 'list', '--follow'], {
      fetch: server.fetch,
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect(result.status).toBe(1);
    expect(sleeps).toEqual([2000, 2000, 2000]);
    expect(
      result.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(/ +/)[1]),
    ).toEqual(['EVENT', 'login', 'ban']);
    expect(result.stderr).toBe(
      'attestctl: warning: 503 unavailable: the database is unreachable; retrying\nattestctl: 401 unauthenticated: a valid admin bearer token is required\n',
    );
    expect(server.requests[2]!.url).toBe(
      `http://attestd.test:8080/v1/audit?since=${encodeURIComponent(event(1).at)}&limit=500`,
    );
  });
});
