// Three tiers as Jest projects, chosen by path and suffix (README, "Tests"):
//   unit      `*.spec.ts` beside the code: no database, no server, no process
//   database  `libs/persistence/**/*.spec.ts` and `*.database.spec.ts`: a real database
//   e2e       `test/**/*.test.ts`, `*.server.spec.ts` and `*.openssl.spec.ts`:
//             real servers, agents, replicas, built bundles, the openssl CLI
// `npm test` runs all three; `npm run test:unit` (and :database, :e2e) one.
// test/tiers.spec.ts fails when a test file falls in no tier or in two.
// SWC transpiles TypeScript (type checking is `npm run check`'s job) so the
// suite starts fast.
// The path aliases (`@libs/...`) are rewritten to relative paths by SWC, from
// the repository root: .swcrc's relative baseUrl holds for the swc CLI run
// there, and is made absolute here for runs from anywhere.
const swcConfig = JSON.parse(require('node:fs').readFileSync(`${__dirname}/.swcrc`, 'utf8'));
swcConfig.jsc.baseUrl = __dirname;

// Absolute paths, not `<rootDir>`: Jest expands that only at the start of a
// glob, so `!<rootDir>/...` would never match and exclude nothing.
const DATABASE = [`${__dirname}/libs/persistence/**/*.spec.ts`, `${__dirname}/{apps,libs,test}/**/*.database.spec.ts`];
const E2E = [
  `${__dirname}/test/**/*.test.ts`,
  `${__dirname}/{apps,libs,test}/**/*.server.spec.ts`,
  `${__dirname}/{apps,libs,test}/**/*.openssl.spec.ts`,
];
const not = (globs) => globs.map((glob) => `!${glob}`);

const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { ...swcConfig, swcrc: false }] },
  // Prisma's generated client imports its TypeScript siblings as `./x.js`.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transformIgnorePatterns: ['/node_modules/'],
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [`${__dirname}/{apps,libs,test}/**/*.spec.ts`, ...not(DATABASE), ...not(E2E)],
      // test/support refuses databases and servers here (test/support/tier.ts)
      setupFiles: ['<rootDir>/test/support/unit-tier.ts'],
    },
    {
      ...common,
      displayName: 'database',
      testMatch: DATABASE,
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: E2E,
    },
  ],
  // every run gets a temporary directory of its own, and fails if a test left anything in it
  globalSetup: '<rootDir>/test/support/temp-directory-setup.js',
  globalTeardown: '<rootDir>/test/support/temp-directory-teardown.js',
  // generous: e2e files start real servers, and on a loaded 2-core machine
  // (the other worker spawning replica processes) a start can take 30 s.
  // Jest reads it here only, not per project.
  testTimeout: 120000,
  maxWorkers: 2,
  // a worker whose V8 heap grew past this is replaced after its file. Jest
  // measures the heap only: the WebAssembly memory of an embedded database
  // on which a statement failed through Prisma, which stays allocated after
  // close (0.2-0.6 GB each), is outside it, so .ci/run gives the database
  // and end-to-end files a fresh worker each (--workerIdleMemoryLimit=0)
  workerIdleMemoryLimit: '2GB',
};
