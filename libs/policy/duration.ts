// Durations as operators write them: `90s`, `5m`, `1h`, `1h30m`, `7d`.
// Whole units only: a fraction or a bare number is ambiguous in a security setting.

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const PART = /^(\d{1,9})([smhd])/;
const MAX_LENGTH = 32;

/** Seconds, or undefined when `text` is not a duration. */
export function tryParseDuration(text: unknown): number | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_LENGTH) return undefined;
  let rest = text;
  let seconds = 0;
  while (rest.length > 0) {
    const match = PART.exec(rest);
    // PART's two groups are not optional: a match has both
    const unitSeconds = match ? UNIT_SECONDS[match[2]!] : undefined;
    if (!match || unitSeconds === undefined) return undefined;
    seconds += Number(match[1]) * unitSeconds;
    rest = rest.slice(match[0].length);
  }
  return seconds;
}

/** Seconds in `text`; throws a message naming the text when it is not a duration. */
export function parseDuration(text: string): number {
  const seconds = tryParseDuration(text);
  if (seconds === undefined) {
    throw new Error(`duration: invalid duration ${JSON.stringify(text)} (expected e.g. 90s, 5m, 1h, 1h30m)`);
  }
  return seconds;
}

/** `3600` → `1h`: for messages that state a bound in the operator's units (hours at most, as in `24h`). */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
