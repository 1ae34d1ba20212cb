import { compileCidr, parseCidr } from './cidr';

function matcher(text: string): (value: string) => boolean {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return compileCidr(parsed.block);
}

describe('parseCidr', () => {
  it.each([
    '10.0.0.0/8',
    '0.0.0.0/0',
    '192.168.1.1/32',
    'fd00::/8',
    '::/0',
    '2001:db8::/32',
    '::1/128',
    '2001:db8:8000::/33',
  ])('accepts %s', (text) => expect(parseCidr(text).ok).toBe(true));

  it('rejects an IPv4 block with host bits set, naming it', () => {
    expect(parseCidr('10.0.0.1/8')).toEqual({
      ok: false,
      problem: '10.0.0.1/8 has host bits set; write the network address',
    });
  });

  it('rejects an IPv6 block with host bits set', () => {
    expect(parseCidr('2001:db8::1/64')).toMatchObject({ ok: false, problem: expect.stringMatching(/host bits/) });
  });

  it('rejects an IPv4 prefix over 32', () => {
    expect(parseCidr('10.0.0.0/33')).toMatchObject({ ok: false, problem: expect.stringMatching(/at most 32/) });
  });

  it('rejects an IPv6 prefix over 128', () => {
    expect(parseCidr('fd00::/129')).toMatchObject({ ok: false, problem: expect.stringMatching(/at most 128/) });
  });

  it.each(['10.0.0.0', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/x', '10.0.0.0/-1', '/8'])(
    'rejects the malformed block %j',
    (text) => {
      expect(parseCidr(text).ok).toBe(false);
    },
  );

  it('rejects an address that is neither IPv4 nor IPv6', () => {
    expect(parseCidr('example.com/8')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/not an IPv4 or IPv6 address/),
    });
  });
});

describe('compileCidr', () => {
  it.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['192.168.1.1/32', '192.168.1.1', true],
    ['192.168.1.1/32', '192.168.1.2', false],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['fd00::/8', 'fd12:3456::1', true],
    ['fd00::/8', 'fe80::1', false],
    ['2001:db8:8000::/33', '2001:db8:8000::1', true],
    ['2001:db8:8000::/33', '2001:db8:7fff::1', false],
    ['::/0', '::1', true],
    ['::1/128', '::1', true],
    ['::1/128', '::2', false],
  ])('%s contains %s: %s', (block, value, expected) => expect(matcher(block)(value)).toBe(expected));

  it('never matches an IPv6 value against an IPv4 block', () => {
    expect(matcher('0.0.0.0/0')('::ffff:10.0.0.1')).toBe(false);
  });

  it('never matches an IPv4 value against an IPv6 block', () => {
    expect(matcher('::/0')('10.0.0.1')).toBe(false);
  });

  it('does not match a value that is not an address', () => {
    expect(matcher('10.0.0.0/8')('10.0.0.0/8')).toBe(false);
    expect(matcher('fd00::/8')('host.example')).toBe(false);
  });
});
