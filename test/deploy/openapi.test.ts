import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { renderApiMarkdown, type OpenApi } from '@apps/server/http/openapi-markdown';
import { startTestServer, type TestServer } from '../support/server';

/**
 * docs/reference/openapi.json is what the server serves at /docs/json, is a
 * valid OpenAPI 3.1 document, and says of every route what the route does:
 * whether it needs a token, and which problems it answers with.
 * Regenerate both files with `npm run docs:api`.
 */

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const committed = () => JSON.parse(read('docs/reference/openapi.json')) as OpenApi;
const REGENERATE = 'the committed document is stale: run `npm run docs:api` and commit docs/reference';

type Operation = OpenApi['paths'][string][string];
const operations = (document: OpenApi): [string, string, Operation][] =>
  Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]): [string, string, Operation] => [method, path, op]),
  );
const zeroId = '00000000-0000-4000-8000-000000000000';
/** a request path for an OpenAPI path template */
const concrete = (path: string) => path.replace('{section}', 'AgentAttestation').replace(/\{[^}]+\}/g, zeroId);

describe('the OpenAPI document', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('is served exactly as committed in docs/reference/openapi.json', async () => {
    const served = await (await server.call('GET', '/docs/json')).json();
    expect({ served, hint: REGENERATE }).toEqual({ served: committed(), hint: REGENERATE });
  });

  it('is valid OpenAPI 3.1 as swagger-parser reads it', async () => {
    const document = committed() as unknown as { openapi: string };
    expect(document.openapi).toBe('3.1.0');
    // validate() dereferences in place: give it a copy
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it('lists every route the server answers, and no other', () => {
    const served = server.server.routes
      .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS' && !r.url.startsWith('/docs'))
      .map((r) => `${r.method.toLowerCase()} ${r.url.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    const documented = operations(committed()).map(([method, path]) => `${method} ${path}`);
    expect(documented.sort()).toEqual([...new Set(served)].sort());
  });

  it('describes every operation, its success answer and its problems', () => {
    for (const [method, path, op] of operations(committed())) {
      const where = `${method} ${path}`;
      expect({ where, summary: Boolean(op.summary), description: Boolean(op.description) }).toEqual({
        where,
        summary: true,
        description: true,
      });
      const [success, ...failures] = Object.entries(op.responses);
      expect({
        where,
        status: success?.[0],
        schemas: Object.values(success?.[1].content ?? {}).every((c) => c.schema !== undefined),
      }).toEqual({ where, status: '200', schemas: true });
      expect(Object.keys(success?.[1].content ?? {}).length).toBeGreaterThan(0);
      for (const [status, response] of failures) {
        expect({ where, status, content: response.content }).toEqual({
          where,
          status,
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        });
      }
    }
  });

  it('declares the bearer token on exactly the routes that refuse a request without one, and 403 where a viewer is refused', async () => {
    const checked: string[] = [];
    for (const [method, path, op] of operations(committed())) {
      const where = `${method} ${path}`;
      const anonymous = await server.call(method.toUpperCase(), concrete(path), method === 'get' ? {} : { body: {} });
      const refused =
        anonymous.status === 401 && ((await anonymous.json()) as { code: string }).code === 'unauthenticated';
      expect({ where, security: op.security ?? [] }).toEqual({ where, security: refused ? [{ bearer: [] }] : [] });
      if (!refused) continue;
      checked.push(where);
      const viewer = await server.call(method.toUpperCase(), concrete(path), {
        token: server.viewerToken,
        ...(method !== 'get' && { body: {} }),
      });
      const forbidden = viewer.status === 403;
      expect({ where, documents403: String(op.responses['403']?.description ?? '').includes('`forbidden`') }).toEqual({
        where,
        documents403: forbidden,
      });
    }
    expect(checked.length).toBeGreaterThanOrEqual(13);
  });

  it('is rendered as docs/reference/api.md', () => {
    expect({ api: read('docs/reference/api.md'), hint: REGENERATE }).toEqual({
      api: renderApiMarkdown(committed()),
      hint: REGENERATE,
    });
  });
});
