import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { AGENT_RENEWALS } from '@apps/agent/telemetry';
import { AGENT_PROOFS, INSTRUMENTS, prometheusName, RUNTIME_METRICS } from '@apps/server/telemetry/instruments';
import { Metrics } from '@apps/server/telemetry/metrics';
import { until } from '@libs/testing/until';

/**
 * docs/reference/telemetry.md lists every metric the server and the agent
 * define and every log message the server writes; a metric or message
 * added in code without its line there fails here.
 */

const ROOT = join(__dirname, '..', '..');
const doc = readFileSync(join(ROOT, 'docs/reference/telemetry.md'), 'utf8');
const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
const rowNaming = (name: string) => rows.find((row) => row.split(' | ')[0]!.includes(`\`${name}\``));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory()
      ? filesUnder(path)
      : path.endsWith('.ts') && !path.endsWith('.spec.ts')
        ? [path]
        : [];
  });
}

/** The arguments of each `logger.<level>(…)` call in a source file, brackets and quotes balanced. */
function loggerCalls(source: string): { level: string; args: string }[] {
  const calls: { level: string; args: string }[] = [];
  for (const match of source.matchAll(/\blogger\.(trace|debug|info|warn|error|fatal)\(/g)) {
    let depth = 1;
    let quote: string | undefined;
    let at = match.index + match[0].length;
    const start = at;
    for (; depth > 0 && at < source.length; at += 1) {
      const char = source[at]!;
      if (quote) {
        if (char === '\\') at += 1;
        else if (char === quote) quote = undefined;
      } else if (`'"\``.includes(char)) quote = char;
      else if ('([{'.includes(char)) depth += 1;
      else if (')]}'.includes(char)) depth -= 1;
    }
    calls.push({ level: match[1]!, args: source.slice(start, at - 1) });
  }
  return calls;
}

/** The message: the call's last string argument (a template's placeholders as N), or the constant it names. */
function messageOf(args: string, source: string): string | undefined {
  const last = args.trim().replace(/,$/, '').trim();
  const literal = /(['`])((?:(?!\1)[^\\]|\\.)*)\1$/.exec(last);
  if (literal) return literal[2]!.replace(/\$\{[^}]*\}/g, 'N');
  const constant = /([A-Z_]+)$/.exec(last)?.[1];
  return constant ? new RegExp(`const ${constant} = '([^']*)'`).exec(source)?.[1] : undefined;
}

describe('docs/reference/telemetry.md', () => {
  it('lists every attestd instrument with its Prometheus name, type, unit, labels and meaning', () => {
    for (const instrument of Object.values(INSTRUMENTS)) {
      const row = rowNaming(prometheusName(instrument));
      expect({ instrument: instrument.name, documented: row !== undefined }).toEqual({
        instrument: instrument.name,
        documented: true,
      });
      const cells = row!.split(' | ');
      expect(cells[1]).toBe(`\`${instrument.name}\``);
      expect(cells[2]).toBe(instrument.kind);
      expect(cells[3]).toMatch('unit' in instrument ? /seconds/ : /^—$/);
      for (const label of instrument.attributes)
        expect({ instrument: instrument.name, label, listed: cells[4]!.includes(`\`${label}\``) }).toEqual({
          instrument: instrument.name,
          label,
          listed: true,
        });
      if (instrument.attributes.length === 0) expect(cells[4]).toBe('none');
      expect(cells[5]!.replace(/ \|$/, '').length).toBeGreaterThan(10);
    }
  });

  it('lists every process and runtime metric with its type and labels, as a real scrape shows them', async () => {
    const metrics = new Metrics({});
    try {
      // a garbage collection and some event-loop delay samples, so every family has a series
      let scraped = '';
      const garbage = () => Array.from({ length: 50_000 }, (_, i) => ({ i, text: String(i) })).length;
      const complete = async () => {
        garbage();
        scraped = await metrics.text();
        return (
          scraped.includes('v8js_gc_duration_seconds_bucket') && scraped.includes('nodejs_eventloop_delay_p99_seconds ')
        );
      };
      expect(await until(complete, 20_000)).toBe(true);
      const families = new Map([...scraped.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name!, type!]));
      const labelsOf = (family: string) =>
        [
          ...new Set(
            [...scraped.matchAll(new RegExp(`^${family}(?:_bucket|_sum|_count)?\\{([^}]*)\\}`, 'gm'))].flatMap(
              ([, labels]) => [...labels!.matchAll(/([a-z0-9_]+)="/g)].map(([, name]) => name!),
            ),
          ),
        ]
          .filter((label) => label !== 'le')
          .sort();
      const runtime = [...families.keys()]
        .filter((family) => !family.startsWith('attestd_') && family !== 'target_info')
        .sort();
      expect(runtime).toEqual(Object.keys(RUNTIME_METRICS).sort());
      for (const [family, declared] of Object.entries(RUNTIME_METRICS)) {
        expect({ family, type: families.get(family), labels: labelsOf(family) }).toEqual({
          family,
          type: declared.kind,
          labels: [...declared.labels].sort(),
        });
        const row = rowNaming(family);
        expect({ family, documented: row !== undefined }).toEqual({ family, documented: true });
        const cells = row!.split(' | ');
        expect(cells[1]).toBe(declared.kind);
        for (const label of declared.labels) expect(cells[3]).toContain(`\`${label}\``);
      }
      // every family carries HELP text
      expect(scraped).not.toContain('description missing');
    } finally {
      await metrics.shutdown();
    }
  }, 30_000);

  it("lists the agent's counters", () => {
    for (const instrument of [AGENT_PROOFS, AGENT_RENEWALS]) {
      const row = rowNaming(instrument.name);
      expect({ instrument: instrument.name, documented: row !== undefined }).toEqual({
        instrument: instrument.name,
        documented: true,
      });
      for (const label of instrument.attributes) expect(row).toContain(`\`${label}\``);
    }
  });

  it('lists every log message the server writes, at its level', () => {
    const found = filesUnder(join(ROOT, 'apps/server')).flatMap((file) => {
      const source = readFileSync(file, 'utf8');
      return loggerCalls(source).map(({ level, args }) => ({
        file: relative(ROOT, file),
        level,
        msg: messageOf(args, source),
      }));
    });
    expect(found.length).toBeGreaterThan(30);
    for (const { file, level, msg } of found) {
      expect({ file, msg: msg ?? 'a message this test cannot read' }).toEqual({ file, msg: expect.any(String) });
      const row = rowNaming(msg!);
      expect({ msg, documented: row?.split(' | ')[1] }).toEqual({ msg, documented: level });
    }
  });
});
