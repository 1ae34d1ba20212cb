import fc from 'fast-check';
import { findUnstorableText, storableText, unstorableText } from './storable-text';

describe('storable text', () => {
  it('storableText always yields text PostgreSQL can store, and leaves storable text alone', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(unstorableText(storableText(text))).toBeUndefined();
        if (unstorableText(text) === undefined) expect(storableText(text)).toBe(text);
      }),
    );
  });

  it('findUnstorableText finds a NUL or lone surrogate at any depth, in values and keys, with its JSON pointer', () => {
    expect(findUnstorableText({ a: [1, { 'b/c': 'x\u0000' }] })).toEqual({
      path: '/a/1/b~1c',
      message: 'must not contain the NUL character (U+0000)',
    });
    expect(findUnstorableText({ a: { ['k\ud800']: 1 } })).toEqual({
      path: '/a/k\ud800',
      message: 'key must be well-formed Unicode (it has an unpaired surrogate)',
    });
    expect(findUnstorableText({ ok: '🦄 é', n: null, list: [true, 1.5] })).toBeUndefined();
    let deep: unknown = '\u0000';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    expect(findUnstorableText(deep)?.message).toMatch(/NUL/);
  });
});
