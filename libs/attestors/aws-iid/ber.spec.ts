import { BerError, TAG, children, octetStringValue, oidToString, readTlv, readWhole } from './ber';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s/g, ''), 'hex');

describe('BER reader', () => {
  it('reads an indefinite-length SEQUENCE up to its end-of-contents', () => {
    const buf = hex('30 80 02 01 01 04 02 aa bb 00 00');
    const tlv = readWhole(buf);
    expect(tlv).toMatchObject({ tag: TAG.SEQUENCE, indefinite: true, contentStart: 2, contentEnd: 9, end: 11 });
    expect(children(buf, tlv).map((c) => c.tag)).toEqual([TAG.INTEGER, TAG.OCTET_STRING]);
  });

  it('reads long-form definite lengths', () => {
    const buf = Buffer.concat([hex('04 82 01 00'), Buffer.alloc(256, 7)]);
    expect(readWhole(buf)).toMatchObject({ contentStart: 4, contentEnd: 260 });
  });

  it('joins the segments of a constructed OCTET STRING, nested or not', () => {
    const buf = hex('24 80 04 02 61 62 24 80 04 01 63 00 00 04 01 64 00 00');
    expect(Buffer.from(octetStringValue(buf, readWhole(buf))).toString()).toBe('abcd');
  });

  it.each([
    ['a truncated element', '30 05 02 01', 'element runs past its container'],
    ['a missing end-of-contents', '30 80 02 01 01', 'missing end-of-contents'],
    ['an indefinite primitive', '04 80 00 00', 'indefinite length on a primitive element'],
    ['a five-octet length', '04 85 00 00 00 00 01 00', 'length is too long'],
    ['a high tag number', '1f 81 00 00', 'high tag numbers are not used by CMS'],
    ['a stray end-of-contents', '30 02 00 00', 'unexpected end-of-contents'],
    ['trailing bytes', '05 00 05 00', 'trailing bytes after the structure'],
  ])('rejects %s', (_name, input, message) => {
    const buf = hex(input);
    expect(() => {
      const tlv = readWhole(buf);
      children(buf, tlv);
    }).toThrow(new BerError(message));
  });

  it('refuses nesting deeper than CMS needs instead of recursing without bound', () => {
    const buf = Buffer.concat([
      Buffer.alloc(2 * 100, 0).map((_, i) => (i % 2 === 0 ? 0x30 : 0x80)),
      Buffer.alloc(2 * 100, 0),
    ]);
    expect(() => readTlv(buf, 0, buf.length)).toThrow(new BerError('nesting is too deep'));
  });

  it('writes OIDs in dotted form for messages', () => {
    expect(oidToString(hex('2a 86 48 86 f7 0d 01 07 01'))).toBe('1.2.840.113549.1.7.1');
    expect(oidToString(hex('2b 0e 03 02 1a'))).toBe('1.3.14.3.2.26');
    expect(oidToString(hex('60 86 48 01 65 03 04 02 01'))).toBe('2.16.840.1.101.3.4.2.1');
  });
});
