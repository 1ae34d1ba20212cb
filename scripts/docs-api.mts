// Regenerates docs/reference/openapi.json and docs/reference/api.md from
// what the server serves: it starts the built server on a throwaway embedded
// database, reads /docs/json, and renders the Markdown reference from it.
//   npm run docs:api        (builds first)
// test/deploy/openapi.test.ts fails when the committed files differ.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'docs', 'reference');
// the server is built as CommonJS into dist/ (npm run build)
const require = createRequire(import.meta.url);
const built = (path: string) => require(join(ROOT, 'dist', path));
const { startServer } = built('apps/server/server.js');
const { loadSettings } = built('apps/server/settings/settings.js');
const { createLogger } = built('apps/server/logging/logger.js');
const { renderApiMarkdown } = built('apps/server/http/openapi-markdown.js');

const home = mkdtempSync(join(tmpdir(), 'attestd-docs-'));
try {
  mkdirSync(join(home, 'policies'));
  const settings = loadSettings({
    ATTESTD_LISTEN: '127.0.0.1:0',
    ATTESTD_DATA_DIR: join(home, 'data'),
    ATTESTD_POLICIES_DIR: join(home, 'policies'),
    ATTESTD_ADMIN_TOKENS: 'docs-generation-only-token',
    ATTESTD_LOG_LEVEL: 'error',
  });
  const server = await startServer(settings, createLogger('error'));
  try {
    const response = await fetch(`${server.url}/docs/json`);
    if (!response.ok) throw new Error(`/docs/json answered ${response.status}`);
    const document = await response.json();
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'openapi.json'), `${JSON.stringify(document, null, 2)}\n`);
    writeFileSync(join(OUT, 'api.md'), renderApiMarkdown(document));
    console.log('wrote docs/reference/openapi.json and docs/reference/api.md');
  } finally {
    await server.close();
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
