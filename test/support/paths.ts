/**
 * A request path for a route pattern (`/v1/agent/login/:loginId/complete`):
 * each `:param` replaced by `param(name)`, and the static characters that
 * `encode(index)` picks written as percent-escapes, which the router decodes
 * (`/v1/%61gent/login` is `/v1/agent/login` to it). Slashes are never
 * escaped: `%2F` is part of a segment, not a separator.
 */
export function spellPath(
  pattern: string,
  param: (name: string) => string,
  encode: (index: number) => boolean = () => false,
  lowerHex = false,
): string {
  let index = 0;
  return pattern
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) return param(segment.slice(1));
      return [...segment]
        .map((char) => {
          if (!encode(index++)) return char;
          const hex = char.charCodeAt(0).toString(16).padStart(2, '0');
          return `%${lowerHex ? hex : hex.toUpperCase()}`;
        })
        .join('');
    })
    .join('/');
}

/** The spellings every route-level check is tried with: as registered, every static character escaped, one escaped in lower-case hex. */
export function spellings(pattern: string, param: (name: string) => string): string[] {
  return [
    spellPath(pattern, param),
    spellPath(pattern, param, () => true),
    spellPath(pattern, param, (i) => i === 4, true),
  ];
}
