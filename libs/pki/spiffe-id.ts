// SPIFFE IDs as the SPIFFE ID standard (spiffe/spiffe, SPIFFE-ID.md) defines
// them. Deliberately stricter than a generic URI parser: no percent-encoding,
// no upper-case trust domain, no port, userinfo, query or fragment. Those
// characters simply fall outside the allowed sets, so one character check per
// part covers every rule. The same rules as go-spiffe, so IDs we mint are IDs
// SPIRE and its SDKs accept.

const SCHEME = 'spiffe://';
/** The standard's limit on the whole URI, in bytes. */
const MAX_ID_LENGTH = 2048;
/** The standard's limit on the trust domain name, as a DNS name. */
const MAX_TRUST_DOMAIN_LENGTH = 255;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export interface SpiffeId {
  /** the whole URI, e.g. `spiffe://example.org/agent/join_token/abc` */
  readonly id: string;
  readonly trustDomain: string;
  /** `''` for the trust domain's own ID, else starts with `/` */
  readonly path: string;
}

/** The input is not a SPIFFE ID; `reason` says which rule it breaks. */
export class InvalidSpiffeId extends Error {
  constructor(readonly reason: string) {
    super(`spiffe id: ${reason}`);
    this.name = 'InvalidSpiffeId';
  }
}

export function isValidTrustDomain(trustDomain: string): boolean {
  return trustDomain.length <= MAX_TRUST_DOMAIN_LENGTH && TRUST_DOMAIN.test(trustDomain);
}

/** Parses and validates; throws InvalidSpiffeId naming the broken rule. */
export function parseSpiffeId(uri: string): SpiffeId {
  if (typeof uri !== 'string') throw new InvalidSpiffeId('not a string');
  if (Buffer.byteLength(uri, 'utf8') > MAX_ID_LENGTH) throw new InvalidSpiffeId(`longer than ${MAX_ID_LENGTH} bytes`);
  if (!uri.startsWith(SCHEME)) throw new InvalidSpiffeId('scheme must be "spiffe://" in lower case');
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (trustDomain.length === 0) throw new InvalidSpiffeId('trust domain is missing');
  if (!isValidTrustDomain(trustDomain)) {
    throw new InvalidSpiffeId(
      'trust domain may only hold lower-case letters, digits, ".", "-" and "_" (no port, userinfo, query or fragment)',
    );
  }
  if (path !== '') validatePath(path);
  return { id: uri, trustDomain, path };
}

function validatePath(path: string): void {
  // path starts with '/', so the first split element is the empty string before it
  for (const segment of path.split('/').slice(1)) {
    if (segment === '') throw new InvalidSpiffeId('path has an empty segment (double or trailing slash)');
    if (segment === '.' || segment === '..') throw new InvalidSpiffeId('path has a "." or ".." segment');
    if (!SEGMENT.test(segment)) {
      throw new InvalidSpiffeId('path segments may only hold letters, digits, ".", "-" and "_" (no query or fragment)');
    }
  }
}

/** True when `uri` is a valid SPIFFE ID; for callers that only need a yes or no. */
export function isValidSpiffeId(uri: string): boolean {
  try {
    parseSpiffeId(uri);
    return true;
  } catch {
    return false;
  }
}
