import { compileGlob, matchGlob } from './glob';

describe('compileGlob', () => {
  it.each([
    ['arn:aws:iam::*:role/web-*', 'arn:aws:iam::123456789012:role/web-frontend', true],
    ['arn:aws:iam::*:role/web-*', 'arn:aws:iam::123456789012:role/api', false],
    ['web-*', 'web-', true],
    ['*-prod', 'eu-prod', true],
    ['*-prod', 'eu-production', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['i-?', 'i-1', true],
    ['i-?', 'i-12', false],
    ['i-?', 'i-', false],
    ['*a*b*', 'xxaxxbxx', true],
    ['*a*b*', 'xxbxxaxx', false],
    ['a*', 'b', false],
    ['', '', true],
    ['', 'x', false],
    ['*', '', true],
    ['**', 'anything', true],
    ['?', '😀', true],
    ['a?c', 'a😀c', true],
  ])('glob %j on %j is %s', (pattern, value, expected) => {
    expect(compileGlob(pattern)(value)).toBe(expected);
    expect(matchGlob(pattern, value)).toBe(expected);
  });

  it('treats regular-expression characters literally', () => {
    expect(compileGlob('a.b+(c)')('a.b+(c)')).toBe(true);
    expect(compileGlob('a.b')('axb')).toBe(false);
  });

  it('is anchored at both ends', () => {
    expect(compileGlob('b?d')('abcde')).toBe(false);
  });

  it('finishes quickly on a pattern that makes backtracking matchers explode', () => {
    const pattern = `${'*a'.repeat(30)}*b`;
    expect(matchGlob(pattern, 'a'.repeat(2000))).toBe(false);
  });
});
