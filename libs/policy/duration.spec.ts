import { formatDuration, parseDuration, tryParseDuration } from './duration';

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['5m', 300],
    ['1h', 3600],
    ['24h', 86400],
    ['1h30m', 5400],
    ['2d', 172800],
    ['0s', 0],
  ])('reads %s as %i seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it.each(['', '5', 'm', '1.5h', '-5m', '5 m', '5M', '1h 30m', '1w', `${'9'.repeat(10)}s`, 'h1'])(
    'rejects %j',
    (text) => {
      expect(() => parseDuration(text)).toThrow(/^duration: invalid duration/);
    },
  );

  it('returns undefined for non-strings instead of throwing', () => expect(tryParseDuration(3600)).toBeUndefined());
});

describe('formatDuration', () => {
  it.each([
    [300, '5m'],
    [86400, '24h'],
    [90, '90s'],
  ])('writes %i as %s', (seconds, text) => expect(formatDuration(seconds)).toBe(text));
});
