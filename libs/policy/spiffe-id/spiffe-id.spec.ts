import { MAX_PATH_LENGTH, spiffeIdFor, spiffePathProblem } from './spiffe-id';

describe('spiffeIdFor', () => {
  it('composes spiffe://<trust domain><path>', () => {
    expect(spiffeIdFor('example.org', '/agent/aws_iid/123456789012/us-east-1/i-0abc')).toBe(
      'spiffe://example.org/agent/aws_iid/123456789012/us-east-1/i-0abc',
    );
  });

  it('throws on an uppercase trust domain', () =>
    expect(() => spiffeIdFor('Example.org', '/a')).toThrow(/trust domain/));
  it('throws on an empty trust domain', () => expect(() => spiffeIdFor('', '/a')).toThrow(/trust domain/));
  it('throws on a path without a leading /', () =>
    expect(() => spiffeIdFor('example.org', 'a')).toThrow(/must start with \//));
});

describe('spiffePathProblem', () => {
  it('accepts a well-formed path', () => expect(spiffePathProblem('/a/b.c/d-e_f')).toBeUndefined());
  it('rejects a trailing /', () => expect(spiffePathProblem('/a/')).toMatch(/trailing/));
  it('rejects an empty segment', () => expect(spiffePathProblem('/a//b')).toMatch(/empty/));
  it('rejects a .. segment', () => expect(spiffePathProblem('/a/../b')).toMatch(/\.\./));
  it('rejects characters outside the alphabet', () => expect(spiffePathProblem('/a:b')).toMatch(/only A-Z/));
  it('rejects an overlong path', () => expect(spiffePathProblem(`/${'a'.repeat(MAX_PATH_LENGTH)}`)).toMatch(/at most/));
});
