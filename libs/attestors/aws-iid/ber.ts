// A small BER (X.690) reader for the one structure this attestor parses:
// AWS's PKCS#7 SignedData, which is BER with indefinite lengths (written by a
// streaming encoder), not DER. Hand-written rather than asn1js or
// @peculiar/asn1-cms because a login verifies one signature and the budget is
// ~50 µs: this reader builds no object tree, it hands out offsets into the
// one input buffer. It is strict where strictness costs nothing: bounds are
// checked on every read, nesting depth is capped, tags above 30 (never used
// by CMS) and primitive indefinite lengths are refused.

/** Input that is not well-formed BER. The verifier turns it into a ProofRejected. */
export class BerError extends Error {}

/** Tag octets (class | constructed | number) used by CMS. */
export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  OCTET_STRING_CONSTRUCTED: 0x24,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [0] constructed: SignedData's explicit content, eContent, certificates, signedAttrs */
  CONTEXT_0: 0xa0,
  /** [1] constructed: crls, unsignedAttrs */
  CONTEXT_1: 0xa1,
} as const;

/** Deep enough for SignedData with a certificate bag; bounds the recursion on hostile input. */
const MAX_DEPTH = 24;

/** One tag-length-value, as offsets into the buffer it was read from. */
export interface Tlv {
  /** the tag octet */
  readonly tag: number;
  /** offset of the tag octet */
  readonly start: number;
  /** offset of the first content octet */
  readonly contentStart: number;
  /** offset just past the last content octet (before the end-of-contents octets, if indefinite) */
  readonly contentEnd: number;
  /** offset just past the whole element */
  readonly end: number;
  readonly indefinite: boolean;
}

/** Reads the element at `offset`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, offset: number, limit: number, depth = 0): Tlv {
  if (depth > MAX_DEPTH) throw new BerError('nesting is too deep');
  if (offset + 2 > limit) throw new BerError('truncated element');
  const tag = buf[offset]!;
  if (tag === 0) throw new BerError('unexpected end-of-contents');
  if ((tag & 0x1f) === 0x1f) throw new BerError('high tag numbers are not used by CMS');
  const first = buf[offset + 1]!;
  let at = offset + 2;
  if (first === 0x80) {
    if ((tag & 0x20) === 0) throw new BerError('indefinite length on a primitive element');
    // The content runs until the end-of-contents octets (00 00) at this
    // level, so the children must be walked to find it.
    let child = at;
    for (;;) {
      if (child + 2 > limit) throw new BerError('missing end-of-contents');
      if (buf[child] === 0 && buf[child + 1] === 0) break;
      child = readTlv(buf, child, limit, depth + 1).end;
    }
    return { tag, start: offset, contentStart: at, contentEnd: child, end: child + 2, indefinite: true };
  }
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    // 4 length octets already allow 4 GiB, far beyond the input cap; 0xff is reserved.
    if (count > 4) throw new BerError('length is too long');
    if (at + count > limit) throw new BerError('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[at + i]!;
    at += count;
  }
  if (length > limit - at) throw new BerError('element runs past its container');
  return { tag, start: offset, contentStart: at, contentEnd: at + length, end: at + length, indefinite: false };
}

/** The elements inside a constructed element, in order. */
export function children(buf: Uint8Array, parent: Tlv, depth = 0): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw new BerError('expected a constructed element');
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.contentEnd;) {
    const child = readTlv(buf, at, parent.contentEnd, depth + 1);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** Reads the single element that must fill `buf` exactly (no trailing bytes). */
export function readWhole(buf: Uint8Array): Tlv {
  const tlv = readTlv(buf, 0, buf.length);
  if (tlv.end !== buf.length) throw new BerError('trailing bytes after the structure');
  return tlv;
}

/** The content octets of a primitive element (no copy). */
export function content(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.contentStart, tlv.contentEnd);
}

/**
 * The value of an OCTET STRING in either BER form: primitive, or constructed
 * from primitive (or again constructed) segments, as streaming encoders
 * write eContent. Segments are concatenated.
 */
export function octetStringValue(buf: Uint8Array, tlv: Tlv, depth = 0): Uint8Array {
  if (tlv.tag === TAG.OCTET_STRING) return content(buf, tlv);
  if (tlv.tag !== TAG.OCTET_STRING_CONSTRUCTED) throw new BerError('expected an OCTET STRING');
  if (depth > MAX_DEPTH) throw new BerError('nesting is too deep');
  const parts = children(buf, tlv, depth).map((segment) => octetStringValue(buf, segment, depth + 1));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Throws unless `tlv` has tag `tag`; `what` names it in the message. */
export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined) throw new BerError(`${what} is missing`);
  if (tlv.tag !== tag) throw new BerError(`${what} has the wrong type`);
  return tlv;
}

/** Dotted form of an OID's content octets, for messages only. */
export function oidToString(bytes: Uint8Array): string {
  const arcs: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  if (arcs.length === 0) return '(empty)';
  const first = arcs[0]!;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}
