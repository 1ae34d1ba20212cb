/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload script, loaded with --require */
// Preloaded (`--require`) into worker threads the server starts while it
// runs from its TypeScript sources, as under Jest: compiles `.ts` files as
// @swc/jest compiles them on Jest's own thread, with the repository's .swcrc.
// Built code (`npm run build`) runs its .js files and never loads this.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { addHook } = require('pirates');
const { transformSync } = require('@swc/core');

const root = join(__dirname, '..', '..');
const config = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));
// the path aliases resolve from the repository root, wherever the process runs
config.jsc.baseUrl = root;
addHook((code, filename) => transformSync(code, { ...config, swcrc: false, filename, sourceMaps: 'inline' }).code, {
  exts: ['.ts'],
});
