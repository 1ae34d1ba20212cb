import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AwsError, type RawRequest } from './protocol';
import type { Principal, World } from './world';

// SigV4 verification of incoming requests, header form (`Authorization:
// AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`): the
// signature is recomputed with @smithy/signature-v4 from the request as
// received, over exactly the headers the client listed, with the secret the
// world holds for the access key. Refusals use the codes AWS uses.

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS accepts request times within 15 minutes of its own. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

export interface AuthorizationHeader {
  accessKeyId: string;
  /** `YYYYMMDD` from the credential scope */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export interface VerifiedCaller {
  caller: Principal;
  region: string;
  service: string;
  signedHeaders: string[];
}

function incomplete(message: string): AwsError {
  return new AwsError('IncompleteSignature', message, 403);
}

/** Parses the Authorization header; throws IncompleteSignature on anything malformed. */
export function parseAuthorization(value: string): AuthorizationHeader {
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw incomplete(`Authorization header requires the ${ALGORITHM} algorithm; found '${algorithm}'.`);
  }
  const parts = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = parts.get('Credential');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    const missing = [!credential && 'Credential', !signedHeaders && 'SignedHeaders', !signature && 'Signature'].filter(
      Boolean,
    );
    throw incomplete(
      `Authorization header requires ${missing.map((m) => `'${m}'`).join(', ')} parameter(s). Authorization=${value}`,
    );
  }
  const [accessKeyId, date, region, service, terminator, ...more] = credential.split('/');
  if (
    !accessKeyId ||
    !date ||
    !region ||
    !service ||
    terminator !== 'aws4_request' ||
    more.length > 0 ||
    !/^\d{8}$/.test(date)
  ) {
    throw incomplete(
      `Credential should be scoped to a valid region, date, service and aws4_request terminator. Credential=${credential}`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) throw incomplete('Signature must be 64 lowercase hex characters.');
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: signedHeaders.split(';'),
    signature,
  };
}

/** The credential scope's service, for dispatch; undefined if the header is absent or unreadable. */
export function scopeService(req: RawRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth !== 'string') return undefined;
  try {
    return parseAuthorization(auth).service;
  } catch {
    return undefined;
  }
}

function header(req: RawRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** `20240102T030405Z` → Date */
function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function mismatch(): AwsError {
  return new AwsError(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    403,
  );
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Verifies the request's SigV4 signature against the world's keys and
 * sessions. `wallClock` is for the 15-minute freshness window (real time, as
 * the SDK signs with real time); credential expiry follows `world.now()`.
 */
export async function verifySigV4(
  req: RawRequest,
  world: World,
  wallClock: Date = new Date(),
): Promise<VerifiedCaller> {
  const authorization = header(req, 'authorization');
  if (authorization === undefined) {
    if (req.query.has('X-Amz-Signature') || req.query.has('X-Amz-Credential')) {
      throw new AwsError(
        'IncompleteSignature',
        'aws-simulator: query-string (presigned URL) authentication is not supported',
        403,
      );
    }
    throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
  }
  const auth = parseAuthorization(authorization);
  if (!auth.signedHeaders.includes('host'))
    throw incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  const amzDate = header(req, 'x-amz-date');
  if (amzDate === undefined) {
    throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (!auth.signedHeaders.includes('x-amz-date'))
    throw incomplete("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) throw incomplete(`X-Amz-Date must be in ISO 8601 basic format; found '${amzDate}'.`);
  if (amzDate.slice(0, 8) !== auth.date) {
    throw new AwsError(
      'SignatureDoesNotMatch',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
      403,
    );
  }

  const key = world.lookupKey(auth.accessKeyId);
  if (!key) throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
  const token = header(req, 'x-amz-security-token');
  let secretAccessKey: string;
  let caller: Principal;
  if (key.kind === 'static') {
    if (token !== undefined)
      throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    secretAccessKey = key.secretAccessKey;
    caller = key.principal;
  } else {
    if (token === undefined || !sameHex(token, key.session.sessionToken)) {
      throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    }
    if (world.now().getTime() >= key.session.expiration.getTime()) {
      throw new AwsError('ExpiredToken', 'The security token included in the request is expired', 403);
    }
    secretAccessKey = key.session.secretAccessKey;
    caller = key.session.principal;
  }

  const skew = signingDate.getTime() - wallClock.getTime();
  if (Math.abs(skew) > MAX_SKEW_MS) {
    const limit = new Date(wallClock.getTime() + (skew < 0 ? -MAX_SKEW_MS : MAX_SKEW_MS));
    throw new AwsError(
      'SignatureDoesNotMatch',
      `Signature ${skew < 0 ? 'expired' : 'not yet current'}: ${amzDate} is now ${skew < 0 ? 'earlier' : 'later'} than ${limit.toISOString().replace(/[-:]|\.\d{3}/g, '')}`,
      403,
    );
  }

  // A declared payload hash must be the body's (services other than S3 hash the body themselves).
  const declaredHash = header(req, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(req.body).digest('hex'))
    throw mismatch();

  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = header(req, name);
    if (value !== undefined) headers[name] = value;
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of req.query) {
    const prior = query[k];
    query[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
  }
  const tokenSigned = auth.signedHeaders.includes('x-amz-security-token');
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: auth.accessKeyId,
      secretAccessKey,
      ...(tokenSigned && token ? { sessionToken: token } : {}),
    },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: req.path,
      query,
      headers,
      body: req.body,
    },
    {
      signingDate,
      signingRegion: auth.region,
      signingService: auth.service,
      signableHeaders: new Set(auth.signedHeaders),
    },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1] ?? '';
  const expectedList = /SignedHeaders=([^,]+)/.exec(String(signed.headers.authorization))?.[1] ?? '';
  if (expectedList !== auth.signedHeaders.join(';') || !sameHex(expected, auth.signature)) throw mismatch();
  return { caller, region: auth.region, service: auth.service, signedHeaders: auth.signedHeaders };
}
