import { hash, type KeyObject } from 'node:crypto';
import { jwsVerifies, keyDetailsOf, MIN_RSA_BITS, type JwsAlgorithm } from '@libs/pki';

/**
 * The agent's proof of possession (`api.md`): a compact JWS signed with the
 * private key of the SVID it presents, over
 * `{ aud, iat, jti[, csr_sha256] }`. The only key that can verify it is the
 * certificate's: a header that names or carries a key (jwk, jku, x5u, x5c,
 * ...) is refused rather than ignored. Pure: the key, the time and the
 * expectations come in; claims or PopRejected come out.
 */
export const RENEW_AUDIENCE = 'attestd-renew';
export const JWT_SVID_AUDIENCE = 'attestd-jwt-svid';
/** how far `iat` may be from the server's clock, either way */
export const MAX_IAT_SKEW_SECONDS = 60;
export const MAX_POP_LENGTH = 16 * 1024;

const JTI_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;
const ALLOWED_HEADER = new Set(['alg', 'typ', 'kid']);

export class PopRejected extends Error {
  constructor(readonly reason: string) {
    super(`pop: ${reason}`);
    this.name = 'PopRejected';
  }
}

export interface PopExpectations {
  /** the leaf certificate's public key */
  readonly publicKey: KeyObject;
  readonly audience: typeof RENEW_AUDIENCE | typeof JWT_SVID_AUDIENCE;
  readonly now: Date;
  /** renewals: the DER of the CSR the proof must be bound to */
  readonly csrDer?: Buffer;
}

export interface VerifiedPop {
  readonly jti: string;
  readonly iat: number;
}

/** The JWS algorithm a certificate key signs with: ES256 for P-256, ES384 for P-384, RS256 for RSA. */
export function algorithmForKey(key: KeyObject): JwsAlgorithm | undefined {
  const details = keyDetailsOf(key);
  if (details.type === 'rsa') return 'RS256';
  if (details.type !== 'ec') return undefined;
  return details.namedCurve === 'prime256v1' ? 'ES256' : details.namedCurve === 'secp384r1' ? 'ES384' : undefined;
}

/** base64url SHA-256 of the CSR DER, as the agent puts it in `csr_sha256`. */
export function csrSha256(der: Buffer): string {
  return hash('sha256', der, 'base64url');
}

export async function verifyProofOfPossession(pop: string, expected: PopExpectations): Promise<VerifiedPop> {
  if (typeof pop !== 'string' || pop.length === 0) throw new PopRejected('proof is empty');
  if (pop.length > MAX_POP_LENGTH) throw new PopRejected(`proof is longer than ${MAX_POP_LENGTH} characters`);
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(pop))
    throw new PopRejected('proof is not a compact JWS');
  const [header, payload, signature] = pop.split('.') as [string, string, string];
  if (![header, payload, signature].every(isCanonicalBase64url))
    throw new PopRejected('proof is not canonical base64url');
  const algorithm = algorithmForKey(expected.publicKey);
  if (!algorithm) throw new PopRejected('the certificate key cannot sign a proof (expected EC P-256, P-384 or RSA)');
  if (algorithm === 'RS256' && (keyDetailsOf(expected.publicKey).modulusLength ?? 0) < MIN_RSA_BITS)
    throw new PopRejected(`the certificate RSA key is shorter than ${MIN_RSA_BITS} bits`);
  checkHeader(header, algorithm);

  if (!signatureVerifies(algorithm, expected.publicKey, `${header}.${payload}`, signature))
    throw new PopRejected('signature does not verify with the certificate key');
  return checkClaims(Buffer.from(payload, 'base64url'), expected);
}

/**
 * Verified with node:crypto directly (`jwsVerifies`) rather than with jose:
 * jose imports the KeyObject into a WebCrypto key and runs each
 * verification as an async job on the thread pool, which costs about half
 * again the CPU of the verification itself on the renewal and JWT-SVID
 * paths. The header is already limited to alg, typ and kid, so no JWS
 * extension (crit, b64) can change what is signed.
 */
function signatureVerifies(algorithm: JwsAlgorithm, key: KeyObject, signingInput: string, encoded: string): boolean {
  return jwsVerifies(algorithm, Buffer.from(signingInput), key, Buffer.from(encoded, 'base64url'));
}

/**
 * Decoders ignore the unused low bits of a segment's last character, so one
 * signature has several spellings; accepting only the canonical one keeps a
 * proof from being replayed in another spelling past anything keyed on its text.
 */
function isCanonicalBase64url(segment: string): boolean {
  return Buffer.from(segment, 'base64url').toString('base64url') === segment;
}

function checkHeader(encoded: string, algorithm: string): void {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new PopRejected('JWS header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new PopRejected('JWS header is not a JSON object');
  const extra = Object.keys(header).filter((name) => !ALLOWED_HEADER.has(name));
  if (extra.length > 0) {
    throw new PopRejected(
      `JWS header may hold only alg, typ and kid (found ${extra
        .slice(0, 4)
        .map((n) => JSON.stringify(n.slice(0, 32)))
        .join(', ')}); the key is the certificate's`,
    );
  }
  const alg = (header as { alg?: unknown }).alg;
  if (alg !== algorithm) throw new PopRejected(`JWS alg must be ${algorithm} for the certificate key`);
}

function checkClaims(payload: Uint8Array, expected: PopExpectations): VerifiedPop {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new PopRejected('JWS payload is not JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw new PopRejected('JWS payload is not a JSON object');
  const c = claims as Record<string, unknown>;
  const allowed = expected.csrDer ? ['aud', 'iat', 'jti', 'csr_sha256'] : ['aud', 'iat', 'jti'];
  const extra = Object.keys(c).filter((name) => !allowed.includes(name));
  if (extra.length > 0) throw new PopRejected(`unexpected claim ${JSON.stringify(extra[0]!.slice(0, 32))}`);
  if (c.aud !== expected.audience) throw new PopRejected(`aud must be "${expected.audience}"`);
  if (typeof c.iat !== 'number' || !Number.isInteger(c.iat))
    throw new PopRejected('iat must be an integer (seconds since the epoch)');
  const skew = Math.abs(expected.now.getTime() / 1000 - c.iat);
  if (!(skew <= MAX_IAT_SKEW_SECONDS))
    throw new PopRejected(`iat is more than ${MAX_IAT_SKEW_SECONDS} s from the server's clock`);
  if (typeof c.jti !== 'string' || !JTI_PATTERN.test(c.jti))
    throw new PopRejected('jti must be 16 to 128 base64url characters');
  if (expected.csrDer) {
    if (typeof c.csr_sha256 !== 'string') throw new PopRejected('csr_sha256 is required');
    if (c.csr_sha256 !== csrSha256(expected.csrDer)) throw new PopRejected('csr_sha256 does not match the CSR');
  }
  return { jti: c.jti, iat: c.iat };
}
