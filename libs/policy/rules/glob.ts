// Glob matching without RegExp: `*` is any run of characters, `?` exactly one
// (one code point), everything else literal; the whole value must match.
// Worst case O(pattern × value) with no backtracking blow-up, whatever the input.

const STAR = 42; // '*'
const QUESTION = 63; // '?'

export type StringTest = (value: string) => boolean;

export function compileGlob(pattern: string): StringTest {
  const stars = count(pattern, '*');
  const questions = count(pattern, '?');
  // Most globs in policies are a prefix, suffix or fixed string: skip the general loop.
  if (questions === 0) {
    if (stars === 0) return (value) => value === pattern;
    if (stars === 1 && pattern.endsWith('*')) {
      const prefix = pattern.slice(0, -1);
      return (value) => value.startsWith(prefix);
    }
    if (stars === 1 && pattern.startsWith('*')) {
      const suffix = pattern.slice(1);
      return (value) => value.endsWith(suffix);
    }
  }
  return (value) => matchGlob(pattern, value);
}

function count(text: string, char: string): number {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) n++;
  return n;
}

/** Two cursors; on a mismatch, let the last `*` swallow one more code point and retry. */
export function matchGlob(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (v < value.length) {
    const pc = p < pattern.length ? pattern.charCodeAt(p) : -1;
    if (pc === STAR) {
      starAt = p++;
      resumeAt = v;
    } else if (pc === QUESTION) {
      p++;
      v += codePointWidth(value, v);
    } else if (pc !== -1 && pc === value.charCodeAt(v)) {
      p++;
      v++;
    } else if (starAt >= 0) {
      p = starAt + 1;
      resumeAt += codePointWidth(value, resumeAt);
      v = resumeAt;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern.charCodeAt(p) === STAR) p++;
  return p === pattern.length;
}

function codePointWidth(text: string, index: number): number {
  const code = text.charCodeAt(index);
  if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
    const next = text.charCodeAt(index + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return 2;
  }
  return 1;
}
