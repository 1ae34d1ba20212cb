import fc from 'fast-check';
import { InvalidSpiffeId, isValidSpiffeId, isValidTrustDomain, parseSpiffeId } from './spiffe-id';

describe('parseSpiffeId', () => {
  it.each([
    ['spiffe://example.org', 'example.org', ''],
    ['spiffe://example.org/agent', 'example.org', '/agent'],
    [
      'spiffe://example.org/agent/aws_iid/123456789012/us-east-1/i-0abc',
      'example.org',
      '/agent/aws_iid/123456789012/us-east-1/i-0abc',
    ],
    ['spiffe://my-td_1.example/A.b-c_D/..x/x..', 'my-td_1.example', '/A.b-c_D/..x/x..'],
    ['spiffe://localhost/x', 'localhost', '/x'],
  ])('accepts %s', (uri, trustDomain, path) => {
    expect(parseSpiffeId(uri)).toEqual({ id: uri, trustDomain, path });
  });

  it.each([
    ['an empty string', '', /scheme/],
    ['another scheme', 'https://example.org/a', /scheme/],
    ['an upper-case scheme', 'SPIFFE://example.org/a', /scheme/],
    ['no trust domain', 'spiffe:///a', /trust domain is missing/],
    ['only the scheme', 'spiffe://', /trust domain is missing/],
    ['an upper-case trust domain', 'spiffe://Example.org/a', /trust domain may only hold/],
    ['a port', 'spiffe://example.org:8443/a', /trust domain may only hold/],
    ['userinfo', 'spiffe://user@example.org/a', /trust domain may only hold/],
    ['a query on the trust domain', 'spiffe://example.org?x=1', /trust domain may only hold/],
    ['a fragment on the trust domain', 'spiffe://example.org#f', /trust domain may only hold/],
    ['a query in the path', 'spiffe://example.org/a?x=1', /path segments may only hold/],
    ['a fragment in the path', 'spiffe://example.org/a#f', /path segments may only hold/],
    ['percent-encoding', 'spiffe://example.org/a%20b', /path segments may only hold/],
    ['a space', 'spiffe://example.org/a b', /path segments may only hold/],
    ['non-ASCII', 'spiffe://example.org/é', /path segments may only hold/],
    ['a trailing slash', 'spiffe://example.org/a/', /empty segment/],
    ['the trust domain with a trailing slash', 'spiffe://example.org/', /empty segment/],
    ['a double slash', 'spiffe://example.org//a', /empty segment/],
    ['a "." segment', 'spiffe://example.org/./a', /"\." or "\.\."/],
    ['a ".." segment', 'spiffe://example.org/a/..', /"\." or "\.\."/],
    ['more than 2048 bytes', `spiffe://example.org/${'a'.repeat(2048)}`, /longer than 2048/],
    ['a trust domain over 255 characters', `spiffe://${'a'.repeat(256)}/x`, /trust domain may only hold/],
  ])('rejects %s', (_name, uri, reason) => {
    expect(() => parseSpiffeId(uri)).toThrow(InvalidSpiffeId);
    expect(() => parseSpiffeId(uri)).toThrow(reason);
  });

  const tdChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-_');
  const segChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_');
  const trustDomain = fc.string({ unit: tdChar, minLength: 1, maxLength: 40 });
  const segment = fc.string({ unit: segChar, minLength: 1, maxLength: 12 }).filter((s) => s !== '.' && s !== '..');

  it('accepts every ID built from the allowed characters and returns its parts', () => {
    fc.assert(
      fc.property(trustDomain, fc.array(segment, { maxLength: 6 }), (td, segments) => {
        const path = segments.map((s) => `/${s}`).join('');
        expect(parseSpiffeId(`spiffe://${td}${path}`)).toEqual({ id: `spiffe://${td}${path}`, trustDomain: td, path });
      }),
    );
  });

  it('rejects any ID with a character outside the allowed sets', () => {
    const forbidden = fc.string({ minLength: 1, maxLength: 1 }).filter((c) => !/[A-Za-z0-9._\-/]/.test(c));
    fc.assert(
      fc.property(trustDomain, segment, forbidden, fc.nat(), (td, seg, bad, at) => {
        const body = `${td}/${seg}`;
        const i = at % (body.length + 1);
        expect(isValidSpiffeId(`spiffe://${body.slice(0, i)}${bad}${body.slice(i)}`)).toBe(false);
      }),
    );
  });

  it('only ever throws InvalidSpiffeId for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseSpiffeId(text);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidSpiffeId);
        }
      }),
    );
  });
});

describe('isValidTrustDomain', () => {
  it.each(['example.org', 'td', 'a-b_c.d', '0'])('accepts %s', (td) => expect(isValidTrustDomain(td)).toBe(true));
  it.each(['', 'Example.org', 'example.org:80', 'example.org/a', 'ex ample', 'exämple.org', 'a'.repeat(256)])(
    'rejects %j',
    (td) => expect(isValidTrustDomain(td)).toBe(false),
  );
});
