import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DocumentWorkers } from '@apps/server/config-documents/document-workers';
import { MAX_NODES } from '@libs/policy/yaml-document';
import { until } from '@libs/testing/until';
import { login, newJoinToken, problemOf } from '../support/agent';
import { joinTokenPolicy } from '../support/policies';
import { startTestServer, type TestServer } from '../support/server';

const policy = (template: string, preamble = '') => joinTokenPolicy({ template, preamble });

const yaml = (server: TestServer, method: string, path: string, body: string) =>
  server.call(method, path, { token: server.adminToken, body, headers: { 'content-type': 'application/yaml' } });

describe('configuration documents', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'lab.yaml': policy('/v1/{{join_token.id}}') } });
  });
  afterAll(() => server?.stop());

  it('loads policies/*.yaml as version 1 at first start', async () => {
    const versions = (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as {
      items: { version: number; createdBy: string }[];
    };
    expect(versions.items[0]).toMatchObject({ version: 1, createdBy: 'file:lab.yaml' });
    expect(server.logs).toContainEqual(
      expect.objectContaining({ msg: 'Configuration activated', section: 'AgentAttestation', version: 1 }),
    );
  });

  it('stores a pushed document as a new version that governs the next login at once', async () => {
    const pushed = await yaml(server, 'PUT', '/v1/config/AgentAttestation', policy('/v2/{{join_token.id}}'));
    expect(pushed.status).toBe(200);
    const summary = (await pushed.json()) as { section: string; version: number; sha256: string; createdAt: string };
    expect(summary).toMatchObject({
      section: 'AgentAttestation',
      version: expect.any(Number),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const { id, token } = await newJoinToken(server);
    const body = (await (await login(server, { join_token: { token } })).json()) as { spiffeId: string };
    expect(body.spiffeId).toBe(`spiffe://example.org/v2/${id}`);
  });

  it('returns the current version for unchanged content, even with new comments', async () => {
    const first = (await (
      await yaml(server, 'PUT', '/v1/config/AgentAttestation', policy('/v3/{{join_token.id}}'))
    ).json()) as { version: number };
    const again = (await (
      await yaml(server, 'PUT', '/v1/config/AgentAttestation', policy('/v3/{{join_token.id}}', '# reviewed'))
    ).json()) as { version: number };
    expect(again.version).toBe(first.version);
  });

  it('accepts JSON bodies', async () => {
    const document = {
      section: 'AgentAttestation',
      schema: 'v1',
      spec: {
        policies: [
          { name: 'lab', requiredAttestors: [{ type: 'join_token' }], spiffeIdTemplate: '/json/{{join_token.id}}' },
        ],
      },
    };
    const response = await server.admin('PUT', '/v1/config/AgentAttestation', document);
    expect(response.status).toBe(200);
    const current = (await (await server.admin('GET', '/v1/config/AgentAttestation')).json()) as {
      document: { spec: { policies: { spiffeIdTemplate: string }[] } };
    };
    expect(current.document.spec.policies[0]!.spiffeIdTemplate).toBe('/json/{{join_token.id}}');
  });

  it('rejects an invalid document with 422, line, column and path, and changes nothing', async () => {
    const before = (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as {
      items: unknown[];
    };
    const bad = policy('/x/{{join_token.idd}}');
    const response = await yaml(server, 'PUT', '/v1/config/AgentAttestation', bad);
    const problem = (await response.json()) as {
      status: number;
      code: string;
      errors: { path: string; line?: number; column?: number; message: string }[];
    };
    expect(problem).toMatchObject({ status: 422, code: 'invalid_config' });
    expect(problem.errors[0]).toMatchObject({
      path: '/spec/policies/0/spiffeIdTemplate',
      line: 8,
      column: expect.any(Number),
    });
    const after = (await (await server.admin('GET', '/v1/config/AgentAttestation/versions')).json()) as {
      items: unknown[];
    };
    expect(after.items).toHaveLength(before.items.length);
  });

  it('validates without storing', async () => {
    expect(
      await (
        await yaml(server, 'POST', '/v1/config/AgentAttestation/validate', policy('/ok/{{join_token.id}}'))
      ).json(),
    ).toEqual({ valid: true, warnings: [] });
    expect(
      (
        await yaml(
          server,
          'POST',
          '/v1/config/AgentAttestation/validate',
          'section: AgentAttestation\nschema: v2\nspec: {}\n',
        )
      ).status,
    ).toBe(422);
  });

  it('accepts a template that two nodes can render alike, warning at its line in the PUT and validate answers', async () => {
    const named = `section: AgentAttestation
schema: v1
spec:
  policies:
    - name: lab
      requiredAttestors: [{ type: join_token }]
    - name: named
      requiredAttestors: [{ type: aws_iid }]
      spiffeIdTemplate: "/node/{{aws_iid.ec2.instance.tag.Name}}"
`;
    const warning = {
      path: '/spec/policies/1/spiffeIdTemplate',
      line: 9,
      column: 25,
      message: expect.stringMatching(
        /^\{\{aws_iid\.ec2\.instance\.tag\.Name\}\} can be set to the same value on two nodes .*add \{\{agent\.uuid\}\} or a node-unique attribute \(\{\{aws_iid\.ec2\.instance\.id\}\}\)$/,
      ),
    };
    const validated = await yaml(server, 'POST', '/v1/config/AgentAttestation/validate', named);
    expect(await validated.json()).toEqual({ valid: true, warnings: [warning] });
    const pushed = await yaml(server, 'PUT', '/v1/config/AgentAttestation', named);
    expect(pushed.status).toBe(200);
    expect(await pushed.json()).toEqual({
      section: 'AgentAttestation',
      version: expect.any(Number),
      sha256: expect.any(String),
      createdAt: expect.any(String),
      warnings: [warning],
    });
    const fixed = await yaml(
      server,
      'PUT',
      '/v1/config/AgentAttestation',
      named.replace('tag.Name}}', 'tag.Name}}/{{aws_iid.ec2.instance.id}}'),
    );
    expect(await fixed.json()).toMatchObject({ warnings: [] });
  });

  it('serves the document as YAML text and any older version', async () => {
    const text = await (
      await server.call('GET', '/v1/config/AgentAttestation?version=1', {
        token: server.viewerToken,
        headers: { accept: 'application/yaml' },
      })
    ).text();
    expect(text).toBe(policy('/v1/{{join_token.id}}'));
  });

  it('rolls back by storing an old version as a new one', async () => {
    const rolled = (await (
      await server.admin('POST', '/v1/config/AgentAttestation/rollback', { version: 1 })
    ).json()) as { version: number };
    expect(rolled.version).toBeGreaterThan(1);
    const current = await (
      await server.call('GET', '/v1/config/AgentAttestation', {
        token: server.adminToken,
        headers: { accept: 'application/yaml' },
      })
    ).text();
    expect(current).toBe(policy('/v1/{{join_token.id}}'));
    const audit = (await (await server.admin('GET', '/v1/audit')).json()) as { items: { event: string }[] };
    expect(audit.items[0]!.event).toBe('config_change');
  });

  it('answers 404 for unknown sections and versions', async () => {
    expect(await problemOf(await server.admin('GET', '/v1/config/Nope'))).toMatchObject({
      status: 404,
      code: 'not_found',
    });
    expect(await problemOf(await server.admin('GET', '/v1/config/AgentAttestation?version=999'))).toMatchObject({
      status: 404,
    });
    expect(
      await problemOf(await server.admin('POST', '/v1/config/AgentAttestation/rollback', { version: 999 })),
    ).toMatchObject({ status: 404 });
  });

  it('refuses a YAML bomb with 422', async () => {
    const bomb = ['section: AgentAttestation', 'schema: v1', 'a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 9; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`,
      );
    bomb.push('spec: *j');
    expect(await problemOf(await yaml(server, 'PUT', '/v1/config/AgentAttestation', bomb.join('\n')))).toMatchObject({
      status: 422,
      code: 'invalid_config',
    });
  });
});

describe('checking a costly document', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ policies: { 'lab.yaml': policy('/v1/{{join_token.id}}') } });
  });
  afterAll(() => server?.stop());

  // the shape that costs the most CPU under the parser's caps (about 2 s): list
  // items that each fail the schema, each with an anchor, up to the node cap
  const costliest = `section: AgentAttestation\nschema: v1\nspec:\n  policies: [${Array.from({ length: MAX_NODES - 50 }, (_, i) => `&a${i} 1`).join(',')}]\n`;

  it('does not hold the event loop: /healthz and a login answer while a viewer validates it', async () => {
    const workers = server.server.app.get(DocumentWorkers);
    // this process is the server: its event loop's delay is the server's
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let validated = false;
    const started = performance.now();
    const validation = server
      .call('POST', '/v1/config/AgentAttestation/validate', {
        token: server.viewerToken,
        body: costliest,
        headers: { 'content-type': 'application/yaml' },
      })
      .finally(() => (validated = true));
    expect(await until(() => workers.tasksInProgress > 0 || validated)).toBe(true);
    expect(validated).toBe(false);
    expect((await server.call('GET', '/healthz')).status).toBe(200);
    const { token } = await newJoinToken(server);
    expect((await login(server, { join_token: { token } })).status).toBe(200);
    // answered while the document was still being checked
    expect(validated).toBe(false);
    const problem = await problemOf(await validation);
    const elapsedMs = performance.now() - started;
    delay.disable();
    expect(problem).toMatchObject({ status: 422, code: 'invalid_config' });
    // on the event loop, the check was one stall as long as itself
    expect(delay.max / 1e6).toBeLessThan(elapsedMs / 2);
  });
});

describe('the AwsIidCertificates section', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  const section = (pem: string) =>
    `section: AwsIidCertificates\nschema: v1\nspec:\n  certificates:\n    - regions: ["us-east-1"]\n      pem: |\n${pem
      .split('\n')
      .map((l) => `        ${l}`)
      .join('\n')}\n`;

  it('refuses a PEM block that is not a usable certificate, naming the entry', async () => {
    const problem = (await (
      await yaml(
        server,
        'PUT',
        '/v1/config/AwsIidCertificates',
        section('-----BEGIN CERTIFICATE-----\nQUJDRA==\n-----END CERTIFICATE-----'),
      )
    ).json()) as {
      status: number;
      errors: { path: string }[];
    };
    expect(problem.status).toBe(422);
    expect(problem.errors[0]!.path).toBe('/spec/certificates/0/pem');
  });
});
