/* eslint-disable @typescript-eslint/no-require-imports -- Jest loads global setup and teardown as CommonJS */
// Jest globalSetup (plain CommonJS, as jest.config.js): the run gets a
// temporary directory of its own, so that temp-directory-teardown.js can
// tell what the tests left behind from what other programs keep in /tmp.
// Workers and the processes they start inherit TMPDIR, which os.tmpdir() reads.
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = () => {
  const dir = mkdtempSync(join(tmpdir(), 'attestd-jest-'));
  process.env.TEST_TMPDIR_ATTESTD = dir;
  process.env.TMPDIR = dir;
};
