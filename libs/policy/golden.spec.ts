import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatConfigError, validateDocument, type SectionName } from './index';
import { builtInDescriptors } from '@libs/attestors/catalog';

const builtIns = builtInDescriptors();

// Golden documents: every file in ok/ validates; every file in not-ok/ fails
// with each `# expect: <text>` line found in one of its formatted errors
// (`LINE:COL /pointer: message`). The section comes from the file name.

const TESTDATA = join(__dirname, 'testdata');
const SECTION_BY_PREFIX: [string, SectionName][] = [
  ['agent-attestation-', 'AgentAttestation'],
  ['aws-iid-certificates', 'AwsIidCertificates'],
  ['kubernetes-clusters', 'KubernetesClusters'],
];

function sectionOf(file: string): SectionName {
  const found = SECTION_BY_PREFIX.find(([prefix]) => file.startsWith(prefix));
  if (!found) throw new Error(`${file}: name must start with a section prefix`);
  return found[1];
}

function files(folder: string): [string, string][] {
  return readdirSync(join(TESTDATA, folder))
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => [file, readFileSync(join(TESTDATA, folder, file), 'utf8')]);
}

describe('golden documents', () => {
  describe('ok', () => {
    it.each(files('ok'))('%s validates', (file, text) => {
      const result = validateDocument(sectionOf(file), text, builtIns);
      expect(result.ok ? [] : result.errors.map((error) => formatConfigError(error, file))).toEqual([]);
    });
  });

  describe('not-ok', () => {
    it.each(files('not-ok'))('%s is rejected as expected', (file, text) => {
      const expectations = [...text.matchAll(/^# expect: (.+)$/gm)].map((match) => match[1]!);
      expect(expectations.length).toBeGreaterThan(0);
      const result = validateDocument(sectionOf(file), text, builtIns);
      expect(result.ok).toBe(false);
      const formatted = result.ok ? [] : result.errors.map((error) => formatConfigError(error));
      for (const expected of expectations) {
        expect(formatted).toContainEqual(expect.stringContaining(expected));
      }
    });
  });
});
