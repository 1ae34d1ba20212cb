// IP address parsing for `cidr` rules, by hand so that the hot path allocates
// nothing: IPv4 as an unsigned 32-bit number, IPv6 into a caller's 8 groups.
// Strict forms only: no leading zeros in IPv4 octets (ambiguous: octal?), no
// IPv6 zone (`%eth0`), no brackets.

const DOT = 46;
const COLON = 58;
const ZERO = 48;

/** The address as an unsigned 32-bit number, or -1. */
export function parseIPv4(text: string, start = 0, end = text.length): number {
  let result = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    let value = 0;
    let digits = 0;
    const first = i;
    while (i < end) {
      const d = text.charCodeAt(i) - ZERO;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
      digits++;
      i++;
    }
    if (digits === 0 || digits > 3 || value > 255) return -1;
    if (digits > 1 && text.charCodeAt(first) === ZERO) return -1;
    result = result * 256 + value;
    octets++;
    if (octets < 4) {
      if (i >= end || text.charCodeAt(i) !== DOT) return -1;
      i++;
    }
  }
  return i === end ? result : -1;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/** Fills `out` (8 groups) and returns true when `text` is an IPv6 address. */
export function parseIPv6(text: string, out: Uint16Array): boolean {
  const n = text.length;
  if (n < 2 || n > 45) return false;
  let i = 0;
  let groups = 0;
  let gapAt = -1;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return false;
    gapAt = 0;
    i = 2;
  }
  while (i < n) {
    if (groups === 8) return false;
    const start = i;
    let value = 0;
    let digits = 0;
    while (i < n && digits < 5) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      i++;
    }
    if (digits === 0) return false;
    if (i < n && text.charCodeAt(i) === DOT) {
      // an IPv4 tail (`::ffff:10.0.0.1`) fills the last two groups
      if (groups > 6) return false;
      const v4 = parseIPv4(text, start, n);
      if (v4 < 0) return false;
      out[groups++] = Math.floor(v4 / 65536);
      out[groups++] = v4 % 65536;
      i = n;
      break;
    }
    if (digits > 4) return false;
    out[groups++] = value;
    if (i === n) break;
    if (text.charCodeAt(i) !== COLON) return false;
    i++;
    if (i < n && text.charCodeAt(i) === COLON) {
      if (gapAt >= 0) return false;
      gapAt = groups;
      i++;
    } else if (i === n) {
      return false;
    }
  }
  if (gapAt < 0) return groups === 8;
  if (groups > 7) return false;
  // move the groups after `::` to the end and zero the gap
  const tail = groups - gapAt;
  // groups <= 7 here, so groups - 1 - k is within the 8 groups
  for (let k = 0; k < tail; k++) out[7 - k] = out[groups - 1 - k]!;
  for (let k = gapAt; k < 8 - tail; k++) out[k] = 0;
  return true;
}
