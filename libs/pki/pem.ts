// Strict PEM (RFC 7468) reading and writing.
//
// Strict because PEM arrives from agents: only BEGIN/END blocks separated by
// whitespace, matching labels, canonical base64, no RFC 1421 headers. Node's
// own parsers are lenient (they skip text around a block and take the first
// one), which would let a body carry extra content we never looked at.

export class PemError extends Error {}

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]{1,64})-----([A-Za-z0-9+/=\s]*?)-----END ([A-Z0-9 ]{1,64})-----/y;
const WHITESPACE = /\s*/y;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Every block in `text`; throws PemError on anything that is not clean PEM. */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let at = 0;
  for (;;) {
    WHITESPACE.lastIndex = at;
    WHITESPACE.exec(text);
    at = WHITESPACE.lastIndex;
    if (at === text.length) break;
    BLOCK.lastIndex = at;
    const match = BLOCK.exec(text);
    if (!match) throw new PemError('not PEM: expected a -----BEGIN ...----- block');
    const [, label, body, endLabel] = match as unknown as [string, string, string, string];
    if (label !== endLabel) throw new PemError(`PEM block "${label}" ends with "${endLabel}"`);
    const base64 = body.replace(/\s+/g, '');
    if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) {
      throw new PemError(`PEM block "${label}" is not valid base64`);
    }
    const der = Buffer.from(base64, 'base64');
    // Node's decoder ignores non-zero padding bits; a round trip catches them.
    if (der.toString('base64') !== base64) throw new PemError(`PEM block "${label}" is not canonical base64`);
    blocks.push({ label, der });
    at = BLOCK.lastIndex;
  }
  return blocks;
}

/** PEM text with 64-column lines and a trailing newline. */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
