import { parseIPv4, parseIPv6 } from './ip-address';
import type { StringTest } from './glob';

export type CidrBlock =
  { family: 4; network: number; prefix: number } | { family: 6; network: Uint16Array; prefix: number };

/** A block such as `10.0.0.0/8` or `fd00::/8`, or why it is not one. */
export function parseCidr(text: string): { ok: true; block: CidrBlock } | { ok: false; problem: string } {
  const slash = text.indexOf('/');
  const prefixText = slash < 0 ? '' : text.slice(slash + 1);
  if (slash < 0 || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    return { ok: false, problem: 'must be a CIDR block such as 10.0.0.0/8 or fd00::/8' };
  }
  const address = text.slice(0, slash);
  const prefix = Number(prefixText);
  const v4 = parseIPv4(address);
  if (v4 >= 0) {
    if (prefix > 32) return { ok: false, problem: 'IPv4 prefix length must be at most 32' };
    if (maskV4(v4, prefix) !== v4) return { ok: false, problem: hostBits(text) };
    return { ok: true, block: { family: 4, network: v4, prefix } };
  }
  const groups = new Uint16Array(8);
  if (!parseIPv6(address, groups)) {
    return { ok: false, problem: `${JSON.stringify(address)} is not an IPv4 or IPv6 address` };
  }
  if (prefix > 128) return { ok: false, problem: 'IPv6 prefix length must be at most 128' };
  // g < 8, the length of every group array here
  for (let g = 0; g < 8; g++) {
    if ((groups[g]! & groupMask(prefix, g)) !== groups[g]) return { ok: false, problem: hostBits(text) };
  }
  return { ok: true, block: { family: 6, network: groups, prefix } };
}

// A block with host bits set (`10.0.0.1/8`) is almost always a typo for a
// narrower or a different block: refuse it rather than guess.
function hostBits(text: string): string {
  return `${text} has host bits set; write the network address`;
}

function maskV4(address: number, prefix: number): number {
  if (prefix === 0) return 0;
  return (address & (0xffffffff << (32 - prefix))) >>> 0;
}

function groupMask(prefix: number, group: number): number {
  const bits = Math.min(Math.max(prefix - group * 16, 0), 16);
  return bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
}

/** Whether a value is an address of the block's family inside it; IPv4 and IPv6 never mix. */
export function compileCidr(block: CidrBlock): StringTest {
  if (block.family === 4) {
    const { network, prefix } = block;
    return (value) => {
      const address = parseIPv4(value);
      return address >= 0 && maskV4(address, prefix) === network;
    };
  }
  const { network, prefix } = block;
  const masks = Array.from({ length: 8 }, (_, g) => groupMask(prefix, g));
  // one scratch buffer per compiled rule: evaluation is synchronous, so it is never shared mid-use
  const scratch = new Uint16Array(8);
  return (value) => {
    if (value.indexOf(':') < 0 || !parseIPv6(value, scratch)) return false;
    // scratch, masks and network all hold 8 groups
    for (let g = 0; g < 8; g++) {
      if ((scratch[g]! & masks[g]!) !== network[g]) return false;
    }
    return true;
  };
}
