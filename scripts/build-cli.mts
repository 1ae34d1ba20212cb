// Bundles attestd-agent and attestctl into one JavaScript file each, with
// every dependency inside, that runs on a machine with nothing but Node.js 24:
//   npm run build:cli                        -> dist/cli/attestd-agent.js, dist/cli/attestctl.js
//   node scripts/build-cli.mts --outdir DIR  (the tests build into a directory of their own)
// Why a bundle rather than a single-executable application: docs/operations/install.md.
import { build } from 'esbuild';
import { chmod, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Each command and the file its process starts from. */
const CLIS = { 'attestd-agent': 'apps/agent/main.ts', attestctl: 'apps/ctl/main.ts' } as const;

const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(ROOT, 'dist', 'cli') } } });
const outdir = resolve(values.outdir);
const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };

for (const [command, entry] of Object.entries(CLIS)) {
  const outfile = join(outdir, `${command}.js`);
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // Whitespace and syntax only: names stay, so a stack trace in a bug report still reads.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    legalComments: 'eof',
    banner: { js: '#!/usr/bin/env node' },
    define: { ATTESTD_BUILD_VERSION: JSON.stringify(version) },
    logLevel: 'warning',
  });
  await chmod(outfile, 0o755);
  const { size } = await stat(outfile);
  process.stdout.write(
    `${relative(process.cwd(), outfile) || outfile}  ${(size / 1024 / 1024).toFixed(2)} MiB  (${command} ${version})\n`,
  );
}
