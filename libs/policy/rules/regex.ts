import { RE2JS } from 're2js';
import type { StringTest } from './glob';

// User patterns run on re2js (RE2 semantics, linear time), never on JS RegExp,
// whose backtracking lets one pattern like `(a+)+$` hang the event loop.

export function compileRegex(pattern: string): { ok: true; test: StringTest } | { ok: false; problem: string } {
  try {
    const re = RE2JS.compile(pattern);
    // `test` finds a match anywhere, like `grep`: anchor with ^ and $ as needed
    return { ok: true, test: (value) => re.test(value) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, problem: `invalid regular expression: ${reason}` };
  }
}
