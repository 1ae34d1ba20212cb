// One runner for unit, integration and property tests. SWC transpiles
// TypeScript (type checking is `npm run check`'s job) so the suite starts fast.
const swcConfig = JSON.parse(require('node:fs').readFileSync(`${__dirname}/.swcrc`, 'utf8'));

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { ...swcConfig, swcrc: false }] },
  // Prisma's generated client imports its TypeScript siblings as `./x.js`.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transformIgnorePatterns: ['/node_modules/'],
  // generous: integration files start real servers, and on a loaded 2-core
  // machine (the other worker spawning replica processes) a start can take 30 s
  testTimeout: 120000,
  maxWorkers: 2,
};
