import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The bench's output: a table on stdout, and the same numbers as JSON in
// bench-results/bench-<timestamp>.json and bench-results/latest.json.

export interface Row {
  metric: string;
  value: string;
  target?: string;
  /** undefined: informational */
  pass?: boolean;
}

export function printTable(title: string, rows: Row[]): string {
  const header: Row = { metric: 'metric', value: 'value', target: 'target' };
  const width = (pick: (r: Row) => string) => Math.max(...[header, ...rows].map((r) => pick(r).length));
  const m = width((r) => r.metric);
  const v = width((r) => r.value);
  const t = width((r) => r.target ?? '');
  const line = (r: Row, verdict: string) =>
    `| ${r.metric.padEnd(m)} | ${r.value.padStart(v)} | ${(r.target ?? '').padEnd(t)} | ${verdict.padEnd(6)} |`;
  const rule = `|${'-'.repeat(m + 2)}|${'-'.repeat(v + 2)}|${'-'.repeat(t + 2)}|--------|`;
  const text = [
    title,
    '',
    line(header, 'result'),
    rule,
    ...rows.map((r) => line(r, r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL')),
  ].join('\n');
  console.log(`\n${text}\n`);
  return text;
}

export function writeResults(directory: string, results: object): string {
  mkdirSync(directory, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(directory, `bench-${stamp}.json`);
  const text = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(join(directory, 'latest.json'), text);
  return file;
}

export const fmt = {
  rate: (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`,
  ms: (n: number) => `${n.toFixed(1)} ms`,
  ratio: (n: number) => `${n.toFixed(2)}`,
  mib: (n: number) => `${n.toFixed(0)} MiB`,
};
