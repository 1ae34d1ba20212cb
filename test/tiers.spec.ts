import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { globsToMatcher } from 'jest-util';

// Every test file runs in exactly one tier (jest.config.js's projects): a file
// in none would never run, one in two would run twice. Other files are added
// all the time, so the rule is checked against the tree, with Jest's own matcher.

const ROOT = resolve(__dirname, '..');
const ROOTS = ['apps', 'libs', 'test'];

interface Project {
  displayName: string;
  testMatch: string[];
}

const projects = (createRequire(__filename)('../jest.config.js') as { projects: Project[] }).projects;

/** The names of the projects whose testMatch takes this path (relative to the repository), as Jest decides it. */
function tiersOf(path: string): string[] {
  // Jest expands `<rootDir>` only at the start of a glob
  const expand = (glob: string) => glob.replace(/^<rootDir>/, ROOT);
  return projects.filter((p) => globsToMatcher(p.testMatch.map(expand))(join(ROOT, path))).map((p) => p.displayName);
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(path);
    return /\.(spec|test)\.ts$/.test(entry.name) ? [relative(ROOT, path)] : [];
  });
}

describe('test tiers', () => {
  it('are unit, database and e2e', () => {
    expect(projects.map((p) => p.displayName)).toEqual(['unit', 'database', 'e2e']);
  });

  it('put each kind of file in one tier by its path and suffix', () => {
    expect(tiersOf('libs/policy/duration.spec.ts')).toEqual(['unit']);
    expect(tiersOf('test/tiers.spec.ts')).toEqual(['unit']);
    expect(tiersOf('libs/persistence/audit.repository.spec.ts')).toEqual(['database']);
    expect(tiersOf('apps/server/admin/tokens.database.spec.ts')).toEqual(['database']);
    expect(tiersOf('test/integration/aws-login.test.ts')).toEqual(['e2e']);
    expect(tiersOf('apps/ctl/main.server.spec.ts')).toEqual(['e2e']);
    expect(tiersOf('apps/agent/keys.openssl.spec.ts')).toEqual(['e2e']);
  });

  it('report a file that falls in no tier or in two', () => {
    expect(tiersOf('apps/server/login/login.test.ts')).toEqual([]);
    expect(tiersOf('libs/persistence/replicas.server.spec.ts')).toEqual(['database', 'e2e']);
  });

  it('take every test file in the tree exactly once', () => {
    const files = ROOTS.flatMap((root) => testFiles(join(ROOT, root)));
    expect(files.length).toBeGreaterThan(100);
    const misplaced = files.map((file) => ({ file, tiers: tiersOf(file) })).filter((f) => f.tiers.length !== 1);
    // README, "Tests": *.spec.ts beside the code is unit; libs/persistence or *.database.spec.ts is database;
    // test/**/*.test.ts, *.server.spec.ts or *.openssl.spec.ts is e2e
    expect(misplaced).toEqual([]);
  });
});
