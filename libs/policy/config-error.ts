/**
 * One problem found in a pushed configuration document. `path` is a JSON
 * pointer into the document (`/spec/policies/0/name`); line and column are
 * 1-based and present when the path could be mapped back to the YAML text.
 */
export interface ConfigError {
  path: string;
  line?: number;
  column?: number;
  message: string;
}

/**
 * Something a valid document does that is probably not meant (a SPIFFE ID
 * template two nodes can render alike): reported beside the answer, never
 * a reason to refuse the document. Placed like an error.
 */
export type ConfigWarning = ConfigError;

export type ValidationResult<T> =
  { ok: true; value: T; warnings: ConfigWarning[] } | { ok: false; errors: ConfigError[] };

/**
 * `policies.yaml:12:9 /spec/policies/0/requiredAttestors/0/type: must be one of ...`:
 * the shape editors and CI logs recognise as a clickable location.
 */
export function formatConfigError(error: ConfigError, filename?: string): string {
  let location = filename ?? '';
  if (error.line !== undefined) {
    location += `${location === '' ? '' : ':'}${error.line}`;
    if (error.column !== undefined) location += `:${error.column}`;
  }
  const path = error.path === '' ? '/' : error.path;
  return `${location === '' ? '' : `${location} `}${path}: ${error.message}`;
}

/**
 * Errors one answer lists at most: a 1 MiB document can have 100,000, and
 * an answer of megabytes helps nobody fix the first.
 */
export const MAX_REPORTED_ERRORS = 1000;

/** Sorted as below, cut to MAX_REPORTED_ERRORS with a last entry saying how many more there are. */
export function reportedConfigErrors(errors: readonly ConfigError[]): ConfigError[] {
  const sorted = sortConfigErrors(errors);
  if (sorted.length <= MAX_REPORTED_ERRORS) return sorted;
  return [
    ...sorted.slice(0, MAX_REPORTED_ERRORS),
    { path: '', message: `${sorted.length - MAX_REPORTED_ERRORS} more errors are not listed` },
  ];
}

/** Document order first (what an operator reads top to bottom), then path; duplicates dropped. */
export function sortConfigErrors(errors: readonly ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  const unique = errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort(
    (a, b) =>
      (a.line ?? Infinity) - (b.line ?? Infinity) ||
      (a.column ?? Infinity) - (b.column ?? Infinity) ||
      (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
}
