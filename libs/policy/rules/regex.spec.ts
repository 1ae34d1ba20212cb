import { compileRegex } from './regex';

describe('compileRegex', () => {
  it('finds a match anywhere unless anchored', () => {
    const compiled = compileRegex('web-[0-9]+');
    expect(compiled.ok && compiled.test('pool/web-12/x')).toBe(true);
    const anchored = compileRegex('^web-[0-9]+$');
    expect(anchored.ok && anchored.test('pool/web-12')).toBe(false);
  });

  it('rejects an invalid pattern with the engine reason', () => {
    expect(compileRegex('(')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^invalid regular expression: .*missing closing \)/),
    });
  });

  it('rejects backreferences, which a linear-time engine cannot run', () => {
    expect(compileRegex('(a)\\1').ok).toBe(false);
  });

  it('answers a catastrophic-backtracking pattern on a long input (linear-time engine)', () => {
    const compiled = compileRegex('^(a+)+$');
    const input = `${'a'.repeat(100_000)}b`;
    expect(compiled.ok && compiled.test(input)).toBe(false);
    expect(compiled.ok && compiled.test('a'.repeat(100_000))).toBe(true);
  });
});
