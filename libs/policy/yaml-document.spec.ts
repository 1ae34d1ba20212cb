import {
  MAX_DOCUMENT_BYTES,
  MAX_KEYS_PER_MAP,
  MAX_NESTING_DEPTH,
  MAX_NODES,
  parseConfigDocument,
  type ParseResult,
} from './yaml-document';

function errorsOf(result: ParseResult) {
  if (result.ok) throw new Error('expected the document to be rejected');
  return result.errors;
}

describe('parseConfigDocument', () => {
  it('parses a YAML document into plain values', () => {
    const result = parseConfigDocument('a: 1\nb: [x, "y"]\nc: { d: true, e: null }\n');
    expect(result.ok && result.document.value).toEqual({ a: 1, b: ['x', 'y'], c: { d: true, e: null } });
  });

  it('parses JSON text given the json content type', () => {
    const result = parseConfigDocument('{"a": [1, "x"], "b": {"c": null}}', 'json');
    expect(result.ok && result.document.value).toEqual({ a: [1, 'x'], b: { c: null } });
  });

  it('rejects YAML-only syntax under the json content type', () => {
    expect(errorsOf(parseConfigDocument('a: 1\n', 'json'))[0]).toMatchObject({ line: 1, column: 1 });
  });

  it('rejects comments under the json content type', () => {
    expect(errorsOf(parseConfigDocument('{"a": 1} # note\n', 'json'))[0]?.message).toMatch(/not valid JSON/);
  });

  it('rejects unquoted words under the json content type', () => {
    expect(errorsOf(parseConfigDocument('{"a": yes}', 'json'))[0]).toMatchObject({ line: 1, column: 7 });
  });

  it('rejects a body that is not text', () => {
    expect(errorsOf(parseConfigDocument(42))[0]?.message).toBe('document body must be text');
  });

  it('rejects a document over the size cap before parsing it', () => {
    const text = `a: "${'x'.repeat(MAX_DOCUMENT_BYTES)}"`;
    expect(errorsOf(parseConfigDocument(text))[0]?.message).toMatch(/larger than 1048576 bytes/);
  });

  it('counts the size in UTF-8 bytes, not characters', () => {
    const text = `a: "${'é'.repeat(MAX_DOCUMENT_BYTES / 2 + 1)}"`;
    expect(errorsOf(parseConfigDocument(text))[0]?.message).toMatch(/larger than/);
  });

  it('rejects duplicate keys with their path, line and column', () => {
    expect(errorsOf(parseConfigDocument('a: 1\nb: 2\nc:\n  d: 1\n  d: 2\na: 3\n'))).toEqual([
      { path: '/c/d', line: 5, column: 3, message: 'duplicate key' },
      { path: '/a', line: 6, column: 1, message: 'duplicate key' },
    ]);
  });

  it('rejects duplicate keys that differ only in quoting', () => {
    expect(errorsOf(parseConfigDocument('a: 1\n"a": 2\n'))[0]?.message).toBe('duplicate key');
  });

  it('rejects more than MAX_NODES nodes before parsing, at the first one too many', () => {
    const text = `a: [${'1,'.repeat(MAX_NODES)}1]\n`;
    // the key a, its `:`, the `[`, then the list items
    expect(errorsOf(parseConfigDocument(text))).toEqual([
      {
        path: '',
        line: 1,
        column: 5 + 2 * (MAX_NODES - 3),
        message: `document has more than ${MAX_NODES} nodes (keys, values and entries); split it or write it more compactly`,
      },
    ]);
    expect(parseConfigDocument(`a: [${'1,'.repeat(MAX_NODES - 4)}1]\n`).ok).toBe(true);
  });

  it('rejects a map with more than MAX_KEYS_PER_MAP keys, at the first key too many', () => {
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `  k${i}: 1`).join('\n');
    expect(errorsOf(parseConfigDocument(`spec:\n${keys(MAX_KEYS_PER_MAP + 1)}\n`))).toEqual([
      { path: '/spec', line: MAX_KEYS_PER_MAP + 2, column: 3, message: `map has more than ${MAX_KEYS_PER_MAP} keys` },
    ]);
    expect(parseConfigDocument(`spec:\n${keys(MAX_KEYS_PER_MAP)}\n`).ok).toBe(true);
  });

  it('rejects lists and maps as keys', () => {
    expect(errorsOf(parseConfigDocument('? [a, b]\n: 1\n'))[0]).toMatchObject({
      line: 1,
      message: 'a key must be a string, not a list, map or tagged value',
    });
  });

  it('treats keys that differ only in type as duplicates, as the JSON value would merge them', () => {
    expect(errorsOf(parseConfigDocument('1: a\n"1": b\n'))).toEqual([
      { path: '/1', line: 2, column: 1, message: 'duplicate key' },
    ]);
  });

  it('rejects text PostgreSQL cannot store, with its line and column (a NUL escape, an unpaired surrogate)', () => {
    expect(errorsOf(parseConfigDocument('a:\n  b: "x\\0y"\n'))).toEqual([
      { path: '/a/b', line: 2, column: 6, message: 'must not contain the NUL character (U+0000)' },
    ]);
    expect(errorsOf(parseConfigDocument('a: ["\\ud800"]\n'))).toEqual([
      { path: '/a/0', line: 1, column: 5, message: 'must be well-formed Unicode (it has an unpaired surrogate)' },
    ]);
    expect(errorsOf(parseConfigDocument('{"a": {"k\\u0000": 1}}', 'json'))).toEqual([
      { path: '/a/k\u0000', line: 1, column: 8, message: 'key must not contain the NUL character (U+0000)' },
    ]);
    expect(parseConfigDocument('a: "\\ud83e\\udd84 é"\n').ok).toBe(true);
  });

  it('rejects several documents in one stream', () => {
    expect(errorsOf(parseConfigDocument('a: 1\n---\nb: 2\n'))[0]).toMatchObject({
      line: 2,
      message: expect.stringMatching(/only one document/),
    });
  });

  it('rejects "billion laughs" alias expansion', () => {
    const lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
      ['g', 'f'],
      ['h', 'g'],
      ['i', 'h'],
    ]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    expect(errorsOf(parseConfigDocument(lines.join('\n')))[0]?.message).toMatch(/too many aliases/);
  });

  it('accepts a few aliases for shared values', () => {
    const result = parseConfigDocument('accounts: &accounts ["111111111111"]\nx: *accounts\ny: *accounts\n');
    expect(result.ok && result.document.value).toEqual({
      accounts: ['111111111111'],
      x: ['111111111111'],
      y: ['111111111111'],
    });
  });

  it('rejects flow nesting deeper than the cap at the opening bracket', () => {
    const depth = MAX_NESTING_DEPTH + 1;
    const text = `a:\n  b: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
    expect(errorsOf(parseConfigDocument(text))).toEqual([
      { path: '', line: 2, column: 6 + MAX_NESTING_DEPTH, message: `nesting deeper than ${MAX_NESTING_DEPTH} levels` },
    ]);
  });

  it('rejects flow and block nesting that together exceed the cap, with the path of the deepest allowed node', () => {
    const text = `a:\n  b: ${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}\n`;
    const [error] = errorsOf(parseConfigDocument(text));
    expect(error).toMatchObject({ message: `nesting deeper than ${MAX_NESTING_DEPTH} levels`, line: 2 });
    expect(error?.path).toBe(`/a/b${'/0'.repeat(MAX_NESTING_DEPTH - 2)}`);
  });

  it('does not count brackets inside quoted strings as nesting', () => {
    const brackets = '['.repeat(100);
    const result = parseConfigDocument(`a: "${brackets}"\nb: '${brackets}'\nc: |\n  ${brackets}\n`);
    expect(result.ok).toBe(true);
  });

  it('rejects a long chain of compact block sequences', () => {
    expect(errorsOf(parseConfigDocument(`${'- '.repeat(100_000)}x\n`))[0]?.message).toMatch(/nesting deeper/);
  });

  it('accepts nesting at the cap', () => {
    const depth = MAX_NESTING_DEPTH;
    expect(parseConfigDocument('['.repeat(depth) + ']'.repeat(depth)).ok).toBe(true);
  });

  it('rejects nesting so deep it would overflow the parser, without throwing', () => {
    const depth = 500_000;
    expect(errorsOf(parseConfigDocument('['.repeat(depth) + ']'.repeat(depth)))[0]?.message).toMatch(/nesting deeper/);
  });

  it('rejects deep block nesting', () => {
    const text = Array.from({ length: 40 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n';
    expect(errorsOf(parseConfigDocument(text))[0]?.message).toMatch(/nesting deeper/);
  });

  it('rejects tags that yield non-JSON values', () => {
    expect(errorsOf(parseConfigDocument('a: !!binary aGVsbG8=\n'))[0]).toMatchObject({
      path: '/a',
      line: 1,
      message: expect.stringMatching(/must be a string, number/),
    });
  });

  it('rejects infinite numbers', () => {
    expect(errorsOf(parseConfigDocument('a: [.inf]\n'))[0]).toMatchObject({
      path: '/a/0',
      message: 'must be a finite number',
    });
  });

  it('reports YAML syntax errors with line and column', () => {
    const [error] = errorsOf(parseConfigDocument('a:\n  - x\n y: [\n'));
    expect(error?.line).toBeGreaterThanOrEqual(2);
    expect(error?.column).toBeGreaterThanOrEqual(1);
  });

  it('reports unknown tags', () => {
    expect(errorsOf(parseConfigDocument('a: !custom x\n'))[0]?.message).toMatch(/tag/i);
  });

  describe('locate', () => {
    const text = 'spec:\n  policies:\n    - name: a\n      tofu: true\n    - name: b\n  empty:\n';
    const result = parseConfigDocument(text);
    const locate = result.ok ? result.document.locate : () => undefined;

    it('maps a pointer to the line and column of the value', () => {
      expect(locate('/spec/policies/1/name')).toEqual({ line: 5, column: 13 });
    });

    it('maps a pointer to the key when asked', () => {
      expect(locate('/spec/policies/0/tofu', 'key')).toEqual({ line: 4, column: 7 });
    });

    it('falls back to the nearest existing ancestor', () => {
      expect(locate('/spec/policies/1/rules/0')).toEqual({ line: 5, column: 7 });
    });

    it('points at the key of an entry without a value', () => {
      expect(locate('/spec/empty')).toEqual({ line: 6, column: 3 });
    });

    it('follows aliases', () => {
      const aliased = parseConfigDocument('base: &b\n  x: 1\ncopy: *b\n');
      expect(aliased.ok && aliased.document.locate('/copy/x')).toEqual({ line: 2, column: 6 });
    });
  });
});
