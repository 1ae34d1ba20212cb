import type { ErrorObject } from 'ajv';
import { closest, distance } from 'fastest-levenshtein';

/**
 * Ajv's findings about merged settings, in an operator's words: the setting
 * as written in the file and its variable (`adminTokens (ATTESTD_ADMIN_TOKENS)`,
 * never a variable that does not exist, such as `ATTESTD_ADMIN_TOKENS_0`),
 * the list entry counted from 1, and what is expected in words rather than
 * a regular expression. Values are never repeated: some are secrets.
 */
export function describeSchemaErrors(
  errors: readonly ErrorObject[],
  knownSettings: readonly string[],
  envName: (setting: string) => string,
): string[] {
  // An anyOf's own error says what is expected; its branches' errors would only say why each alternative failed.
  const alternatives = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  const kept = errors.filter((e) => !alternatives.some((prefix) => e.schemaPath.startsWith(prefix)));
  return [...new Set(kept.map((e) => describe(e, knownSettings, envName)))];
}

function describe(error: ErrorObject, knownSettings: readonly string[], envName: (setting: string) => string): string {
  const segments = error.instancePath.split('/').slice(1);
  const listAt = segments.findIndex((s) => /^\d+$/.test(s));
  if (error.keyword === 'additionalProperties') {
    // Only the settings file can hold a key the schema does not know: variables are read by known names.
    const name = [...segments, (error.params as { additionalProperty: string }).additionalProperty].join('.');
    return `${name}: unknown setting in the settings file${suggestion(name, knownSettings)}`;
  }
  const setting = (listAt === -1 ? segments : segments.slice(0, listAt)).join('.');
  const where =
    listAt === -1
      ? ''
      : `entry ${Number(segments[listAt]) + 1}${segments.length > listAt + 1 ? ` (${segments.slice(listAt + 1).join('.')})` : ''} `;
  return `${setting} (${envName(setting)}): ${where}${requirement(error)}`;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  string: 'text',
  array: 'a list (comma-separated in a variable)',
  object: 'a mapping of settings',
};

/** What the value must be, in words. */
function requirement(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const expected = (error.parentSchema as { expected?: string } | undefined)?.expected;
  switch (error.keyword) {
    case 'pattern':
    case 'anyOf':
      return `must be ${expected ?? 'in the documented form'}`;
    case 'type':
      return `must be ${String(params.type)
        .split(',')
        .map((t) => TYPE_WORDS[t] ?? t)
        .join(' or ')}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'minimum':
      return `must be at least ${String(params.limit)}`;
    case 'exclusiveMinimum':
      return `must be more than ${String(params.limit)}`;
    case 'maximum':
      return `must be at most ${String(params.limit)}`;
    case 'minLength':
      return 'must not be empty';
    case 'required':
      return `needs ${String(params.missingProperty)}`;
    default:
      return error.message ?? 'is not valid';
  }
}

/** ` (did you mean X?)` when one known name is a likely typo of `name`, else nothing. */
export function suggestion(name: string, known: readonly string[]): string {
  if (known.length === 0) return '';
  const best = closest(name, known);
  // A third of the name's length: catches swapped, dropped and doubled letters without suggesting unrelated settings.
  return distance(name.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(name.length / 3))
    ? ` (did you mean ${best}?)`
    : '';
}
