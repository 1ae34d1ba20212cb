// Minimal DER (X.690) writer and strict reader.
//
// Why hand-written: the login hot path issues one certificate per login, and
// building it through @peculiar/x509's WebCrypto path costs ~3 ms (measured;
// see README). Everything here is concatenation of a handful of byte strings,
// so a certificate is assembled in microseconds. The reader is strict on
// purpose (definite, minimal lengths; no trailing bytes) because it parses
// untrusted CSRs and certificates.

/** Input that is not well-formed DER. Callers turn it into their own rejection. */
export class DerError extends Error {}

// Universal tags used by X.509 / PKCS#10.
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

// ---------------------------------------------------------------- writing

function lengthOctets(length: number): number {
  if (length < 0x80) return 1;
  let count = 1;
  for (let n = length; n > 0xff; n = Math.floor(n / 256)) count++;
  return count + 1;
}

/**
 * One tag-length-value over the concatenation of `parts`, written into a
 * single allocation (this runs a few dozen times per issued certificate).
 */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  const header = 1 + lengthOctets(length);
  const out = Buffer.allocUnsafe(header + length);
  out[0] = tag;
  if (length < 0x80) {
    out[1] = length;
  } else {
    out[1] = 0x80 | (header - 2);
    for (let i = header - 1, n = length; i >= 2; i--, n = Math.floor(n / 256)) out[i] = n & 0xff;
  }
  let at = header;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const sequence = (...items: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...items);
export const set = (...items: Uint8Array[]): Buffer => tlv(TAG.SET, ...items);
export const octetString = (bytes: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, bytes);
export const bool = (value: boolean): Buffer => tlv(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
export const utf8String = (text: string): Buffer => tlv(TAG.UTF8_STRING, Buffer.from(text, 'utf8'));

/** BIT STRING whose last `unusedBits` bits are padding. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.of(unusedBits), bytes);
}

/** INTEGER from an unsigned big-endian magnitude (adds the sign octet when needed). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return trimmed[0]! & 0x80 ? tlv(TAG.INTEGER, Buffer.of(0), trimmed) : tlv(TAG.INTEGER, trimmed);
}

export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 127) throw new RangeError('der: small integer out of range');
  return tlv(TAG.INTEGER, Buffer.from([value]));
}

/** `[n] EXPLICIT` wrapper (constructed, context-specific). */
export const explicit = (n: number, inner: Uint8Array): Buffer => tlv(0xa0 | n, inner);

/** OBJECT IDENTIFIER from dotted text; call once at module load, not per certificate. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => Number(arc));
  if (arcs.length < 2 || arcs.some((arc) => !Number.isSafeInteger(arc) || arc < 0)) {
    throw new RangeError(`der: bad object identifier ${dotted}`);
  }
  const bytes: number[] = [];
  const pushArc = (arc: number): void => {
    const chunk: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    bytes.push(...chunk);
  };
  pushArc(arcs[0]! * 40 + arcs[1]!);
  arcs.slice(2).forEach(pushArc);
  return tlv(TAG.OID, Buffer.from(bytes));
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/**
 * Certificate validity time: UTCTime through 2049, GeneralizedTime from 2050,
 * as RFC 5280 §4.1.2.5 requires. Whole seconds; milliseconds are dropped.
 */
export function x509Time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  const rest =
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    'Z';
  if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(pad(year % 100, 2) + rest, 'ascii'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(pad(year, 4) + rest, 'ascii'));
}

// ---------------------------------------------------------------- reading

/** A parsed element; offsets index the buffer it was read from. */
export interface Node {
  readonly tag: number;
  /** offset of the identifier octet */
  readonly start: number;
  readonly contentStart: number;
  /** offset one past the last content octet */
  readonly end: number;
}

/** Reads the element at `offset`, rejecting BER-only forms DER forbids. */
export function readNode(buf: Uint8Array, offset: number, limit = buf.length): Node {
  if (offset + 2 > limit) throw new DerError('truncated element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported');
  const first = buf[offset + 1]!;
  let contentStart = offset + 2;
  let length = first;
  if (first === 0x80) throw new DerError('indefinite length is not DER');
  if (first > 0x80) {
    const count = first & 0x7f;
    if (count > 4) throw new DerError('length too large');
    if (contentStart + count > limit) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[contentStart + i]!;
    if (buf[contentStart] === 0 || length < 0x80) throw new DerError('length is not minimally encoded');
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError('truncated content');
  return { tag, start: offset, contentStart, end };
}

/** Reads exactly one element spanning the whole buffer. */
export function readRoot(buf: Uint8Array, expectedTag: number): Node {
  const node = readNode(buf, 0);
  if (node.end !== buf.length) throw new DerError('trailing bytes after the outer element');
  return expect(node, expectedTag);
}

export function expect(node: Node, tag: number): Node {
  if (node.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`);
  return node;
}

/** The children of a constructed element; they must tile its content exactly. */
export function children(buf: Uint8Array, parent: Node): Node[] {
  if ((parent.tag & 0x20) === 0) throw new DerError('element is not constructed');
  const out: Node[] = [];
  for (let at = parent.contentStart; at < parent.end;) {
    const child = readNode(buf, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

export const content = (buf: Uint8Array, node: Node): Buffer =>
  Buffer.from(buf.buffer, buf.byteOffset + node.contentStart, node.end - node.contentStart);

export const raw = (buf: Uint8Array, node: Node): Buffer =>
  Buffer.from(buf.buffer, buf.byteOffset + node.start, node.end - node.start);

/** BIT STRING content without its unused-bits octet; only whole-octet strings are accepted. */
export function bitStringBytes(buf: Uint8Array, node: Node): Buffer {
  const bytes = content(buf, expect(node, TAG.BIT_STRING));
  if (bytes.length < 1 || bytes[0] !== 0) throw new DerError('bit string has unused bits');
  return bytes.subarray(1);
}
