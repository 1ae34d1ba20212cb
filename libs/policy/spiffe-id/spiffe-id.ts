// The SPIFFE ID alphabet and composition (SPIFFE ID spec, sections 2.1 and 2.2).

/** SPIFFE IDs are at most 2048 bytes; trust domains at most 255. */
export const MAX_SPIFFE_ID_LENGTH = 2048;
export const MAX_TRUST_DOMAIN_LENGTH = 255;
const SCHEME = 'spiffe://';
/** The longest path that still fits behind the longest trust domain. */
export const MAX_PATH_LENGTH = MAX_SPIFFE_ID_LENGTH - SCHEME.length - MAX_TRUST_DOMAIN_LENGTH;

export const PATH_ALPHABET = 'A-Z a-z 0-9 . - _';

/** A-Z a-z 0-9 . - _ : what a path segment may hold. */
export function isPathSegmentChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || // a-z
    (code >= 65 && code <= 90) || // A-Z
    (code >= 48 && code <= 57) || // 0-9
    code === 46 || // .
    code === 45 || // -
    code === 95 // _
  );
}

export function isPathSegmentText(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isPathSegmentChar(text.charCodeAt(i))) return false;
  return true;
}

/** Why `path` is not a SPIFFE ID path (`/a/b`), or undefined. */
export function spiffePathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'must start with /';
  if (path.length > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} characters`;
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') return 'must not have empty segments or a trailing /';
    if (segment === '.' || segment === '..') return 'must not have . or .. segments';
    if (!isPathSegmentText(segment)) return `must use only ${PATH_ALPHABET} and /`;
  }
  return undefined;
}

function trustDomainProblem(trustDomain: string): string | undefined {
  if (trustDomain.length === 0 || trustDomain.length > MAX_TRUST_DOMAIN_LENGTH) {
    return `must be 1 to ${MAX_TRUST_DOMAIN_LENGTH} characters`;
  }
  for (let i = 0; i < trustDomain.length; i++) {
    const code = trustDomain.charCodeAt(i);
    const lower =
      (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 46 || code === 45 || code === 95;
    if (!lower) return 'must use only a-z 0-9 . - _';
  }
  return undefined;
}

/**
 * `spiffe://<trustDomain><path>`. Both come from validated configuration and
 * a rendered template, so an invalid one is a bug: it throws.
 */
export function spiffeIdFor(trustDomain: string, path: string): string {
  const domainProblem = trustDomainProblem(trustDomain);
  if (domainProblem) throw new Error(`spiffe_id: trust domain ${JSON.stringify(trustDomain)} ${domainProblem}`);
  const pathProblem = spiffePathProblem(path);
  if (pathProblem) throw new Error(`spiffe_id: path ${JSON.stringify(path)} ${pathProblem}`);
  return `${SCHEME}${trustDomain}${path}`;
}
