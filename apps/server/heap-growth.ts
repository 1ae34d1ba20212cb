import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past its live size before the
 * next mark-compact: 200 = three times the live heap.
 *
 * V8 picks the factor from its own estimates of collector and program
 * speed. Under attestd's load it settled near its minimum, about 1.1: with
 * some 100 MiB live, a mark-compact every 8-10 MiB promoted, up to one a
 * second at 700 logins/s, each holding the event loop 20-80 ms, and the
 * requests queued behind them made the p99 at half load. In bench runs
 * (README, "Performance"): 15-16 mark-compacts a run by default, 9-13 at
 * 100, 5-9 at 200 with none in a half-load phase, and peak RSS within the
 * default's spread. V8 reads the flag at each collection, so setting it
 * at start works as on the command line.
 */
export const HEAP_GROWING_PERCENT = 200;

/**
 * The V8 flag to set, or undefined when the operator gave one on the
 * command line: theirs wins. (Node refuses V8 flags in NODE_OPTIONS.)
 */
export function heapGrowthFlag(execArgv: readonly string[]): string | undefined {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return undefined;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** Sets the flag for this process, from its next collection on. */
export function loosenHeapGrowth(): void {
  const flag = heapGrowthFlag(process.execArgv);
  if (flag) setFlagsFromString(flag);
}
