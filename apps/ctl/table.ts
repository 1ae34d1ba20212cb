import { clean } from '@libs/cli-support/terminal-text';

export { clean };
// Output for people: aligned columns, short hashes, times without milliseconds.
// Every cell is server text headed for a terminal, so it is cleaned first.

export interface Column {
  header: string;
  /** at least this wide, so that rows printed later (audit --follow) line up */
  width?: number;
  /** cut longer values to this many characters, with `…` */
  max?: number;
}

const GAP = '  ';

/** Header and rows, columns two spaces apart; the last column is not padded. */
export function renderTable(
  columns: readonly (Column | string)[],
  rows: readonly (readonly string[])[],
  options: { header?: boolean } = {},
): string {
  const specs = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const cells = rows.map((row) => specs.map((spec, i) => fit(clean(row[i] ?? ''), spec.max)));
  const widths = specs.map((spec, i) =>
    Math.max(spec.width ?? 0, spec.header.length, ...cells.map((row) => row[i]!.length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join(GAP)
      .trimEnd() + '\n';
  const lines = cells.map(line);
  if (options.header !== false) lines.unshift(line(specs.map((spec) => spec.header)));
  return lines.join('');
}

/** `2025-03-01T10:00:00.123Z` → `2025-03-01T10:00:00Z`; anything else as is; `-` for none. */
export function formatTime(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '-';
  return value.replace(/\.\d+Z$/, 'Z');
}

/** The first 12 hex digits, as git shows commits. */
export function shortSha(sha256: string): string {
  return sha256.slice(0, 12);
}

export function orDash(value: string | null | undefined): string {
  return value === null || value === undefined || value === '' ? '-' : value;
}

function fit(text: string, max: number | undefined): string {
  return max !== undefined && text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
