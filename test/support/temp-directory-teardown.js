/* eslint-disable @typescript-eslint/no-require-imports -- Jest loads global setup and teardown as CommonJS */
// Jest globalTeardown: fails the run when a test left files in the temporary
// directory (temp-directory-setup.js), naming them; a test removes what it
// made, in afterAll or afterEach, even when it failed.
const { readdirSync, rmSync } = require('node:fs');

module.exports = () => {
  const dir = process.env.TEST_TMPDIR_ATTESTD;
  if (!dir) return;
  const left = readdirSync(dir);
  rmSync(dir, { recursive: true, force: true });
  if (left.length > 0)
    throw new Error(`tests left ${left.length} entries in the temporary directory: ${left.sort().join(', ')}`);
};
