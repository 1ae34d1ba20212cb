import { decodeProtectedHeader } from 'jose';

/** Headers that would let a token name its own verification key. */
const KEY_BEARING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * The header checks every JWT-carrying attestor makes before choosing a key:
 * an allowed algorithm, a `kid`, and nothing that names a key of the token's
 * choosing. Returns the `kid`; calls `reject` (which throws) otherwise.
 */
export function checkJwtHeader(
  token: string,
  algorithms: readonly string[],
  reject: (reason: string) => never,
): string {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    reject('token is not a JWT');
  }
  if (!algorithms.includes(header.alg ?? ''))
    reject(`token algorithm ${JSON.stringify(header.alg ?? null)} is not allowed (only ${algorithms.join(', ')})`);
  const embedded = KEY_BEARING_HEADERS.filter((name) => Object.hasOwn(header, name));
  if (embedded.length > 0) reject(`token header must not carry ${embedded.join(', ')}`);
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 256)
    reject('token header has no kid');
  // Issuers' kids are base64url or hex. Anything else (NUL, control
  // characters, lone surrogates) is refused here, before it can reach a log
  // line, a cache key or the audit log.
  if (!PRINTABLE_ASCII.test(header.kid)) reject('token header has no kid of printable ASCII');
  return header.kid;
}
