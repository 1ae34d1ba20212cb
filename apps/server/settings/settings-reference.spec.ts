import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envName, settingNames } from './settings';
import { settingsSchema } from './settings.schema';

const REFERENCE = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'reference', 'settings.md'), 'utf8');

/** The reference's table rows by setting: the first cell is the setting in backticks. */
const rows = new Map(
  REFERENCE.split('\n')
    .map((line) => /^\| `([A-Za-z.]+)` \|(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [match[1]!, match[2]!]),
);

function defaultOf(name: string): unknown {
  let node: { properties?: Record<string, unknown>; default?: unknown } = settingsSchema;
  for (const part of name.split('.')) node = node.properties![part] as typeof node;
  return node.default;
}

describe('docs/reference/settings.md', () => {
  it.each(settingNames())('has a row for %s with its variable and default', (name) => {
    const row = rows.get(name);
    expect(row).toBeDefined();
    expect(row).toContain(name === 'databaseUrl' ? '`DATABASE_URL`' : `\`${envName(name)}\``);
    const value = defaultOf(name);
    if (value !== undefined && !Array.isArray(value)) expect(row).toContain(`\`${String(value)}\``);
  });

  it('has no row for a setting that does not exist', () => {
    const names = new Set(settingNames());
    expect([...rows.keys()].filter((name) => !names.has(name))).toEqual([]);
  });
});
