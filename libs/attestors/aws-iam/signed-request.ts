import { timingSafeEqual } from 'node:crypto';
import { ProofRejected } from '../attestor';
import type { StsRequest } from '../aws/ports';

export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov';

export const GET_CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';
/** How far X-Amz-Date may be from the server's clock (attestors.md). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const MAX_HEADERS = 12;
const MAX_HEADER_VALUE = 8192;
/** The only headers forwarded to STS; every signed header must be one of them. */
const FORWARDED = new Set([
  'authorization',
  'content-type',
  'host',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
  'x-attestd-challenge',
]);
const REQUIRED_SIGNED = ['host', 'x-amz-date', 'x-attestd-challenge'];
const REGION = /^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$/;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})\/([0-9]{8})\/([a-z0-9-]{1,32})\/sts\/aws4_request, ?SignedHeaders=([a-z0-9;-]{1,512}), ?Signature=[0-9a-f]{64}$/;

export interface VettedRequest {
  request: StsRequest;
  host: string;
  region: string;
}

function reject(reason: string): never {
  throw new ProofRejected(`aws_iam: ${reason}`);
}

/**
 * Step 1 and 2 of `aws_iam` (attestors.md), with no network I/O: the request
 * must be exactly a SigV4-signed STS GetCallerIdentity for an STS host of
 * the partition, binding this login's challenge, signed within 15 minutes.
 * Whatever passes is safe to send: it can only reach STS and only ask who
 * the caller is.
 */
export function vetSignedRequest(
  proof: { method: string; url: string; headers: Partial<Record<string, string>>; body: string },
  challenge: string | undefined,
  partition: Partition,
  now: Date,
): VettedRequest {
  const { host, region } = stsHost(proof.url, partition);
  // The method is not echoed: the reason is stored in the audit log, and PostgreSQL refuses text holding NUL (a 500).
  if (proof.method !== 'POST') reject('method must be POST');
  if (proof.body !== GET_CALLER_IDENTITY_BODY) reject(`body must be exactly ${GET_CALLER_IDENTITY_BODY}`);
  const headers = normalise(proof.headers);
  if (headers.host !== undefined && headers.host !== host) reject('the Host header does not match the URL');
  headers.host = host;

  const authorization = AUTHORIZATION.exec(headers.authorization ?? '');
  if (!authorization) reject('Authorization is not an AWS4-HMAC-SHA256 signature for sts');
  const [, , scopeDate, scopeRegion, signedList] = authorization;
  const signed = signedList!.split(';');
  for (const name of REQUIRED_SIGNED)
    if (!signed.includes(name)) reject(`the signature does not cover the ${name} header`);
  for (const name of signed)
    if (!FORWARDED.has(name)) reject(`the signature covers the ${name} header, which attestd does not forward`);
  for (const name of signed) if (headers[name] === undefined) reject(`signed header ${name} is missing`);
  if (scopeRegion !== region) reject(`the signature is scoped to region ${scopeRegion}, the URL to ${region}`);

  const date = amzDate(headers['x-amz-date']);
  if (scopeDate !== headers['x-amz-date']!.slice(0, 8)) reject('the credential scope date does not match X-Amz-Date');
  if (Math.abs(date.getTime() - now.getTime()) > MAX_CLOCK_SKEW_MS)
    reject('X-Amz-Date is more than 15 minutes from now');

  if (!challenge || !sameText(headers['x-attestd-challenge'] ?? '', challenge))
    reject("X-Attestd-Challenge does not match this login's challenge");

  const forwarded = Object.fromEntries(Object.entries(headers).filter(([name]) => FORWARDED.has(name)));
  return {
    request: { url: `https://${host}/`, method: 'POST', headers: forwarded, body: GET_CALLER_IDENTITY_BODY },
    host,
    region,
  };
}

/** The STS host and signing region a URL names, for the configured partition. */
export function stsHost(url: string, partition: Partition): { host: string; region: string } {
  if (typeof url !== 'string' || url.length > 256) reject('url is not an STS URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    reject('url is not a URL');
  }
  if (parsed.protocol !== 'https:') reject('url must be https');
  if (parsed.username || parsed.password) reject('url must not carry user information');
  if (parsed.port) reject('url must not name a port');
  // Compared as text, so no path, query, fragment, dot segment or odd spelling slips through URL normalisation.
  if (url !== `https://${parsed.hostname}/` && url !== `https://${parsed.hostname}`)
    reject('url must be the STS endpoint root, with no path or query');
  const host = parsed.hostname;
  if (partition === 'aws' && host === 'sts.amazonaws.com') return { host, region: 'us-east-1' };
  const suffix = partition === 'aws-cn' ? '.amazonaws.com.cn' : '.amazonaws.com';
  const match = /^sts\.([a-z0-9-]+)$/.exec(host.endsWith(suffix) ? host.slice(0, -suffix.length) : '');
  const region = match?.[1];
  if (!region || !REGION.test(region) || !inPartition(region, partition))
    reject(`host ${host.slice(0, 80)} is not an STS endpoint of partition ${partition}`);
  return { host, region };
}

function inPartition(region: string, partition: Partition): boolean {
  if (partition === 'aws-cn') return region.startsWith('cn-');
  if (partition === 'aws-us-gov') return region.startsWith('us-gov-');
  return !region.startsWith('cn-') && !region.startsWith('us-gov-') && !region.startsWith('us-iso');
}

function normalise(headers: Partial<Record<string, string>>): Record<string, string> {
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) reject(`more than ${MAX_HEADERS} headers`);
  const result: Record<string, string> = {};
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (!/^[a-z0-9-]{1,64}$/.test(lower)) reject('a header name is not a token');
    // Printable ASCII only: anything else cannot be sent on as an HTTP header (a TypeError, so a 500), and AWS's headers never need it.
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE || /[^\t\x20-\x7e]/.test(value))
      reject(`header ${lower} has an invalid value`);
    if (result[lower] !== undefined) reject(`header ${lower} appears twice`);
    result[lower] = value;
  }
  return result;
}

function amzDate(value: string | undefined): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!match) reject('X-Amz-Date is missing or malformed');
  const [, y, mo, d, h, mi, s] = match;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  if (Number.isNaN(date.getTime())) reject('X-Amz-Date is not a date');
  return date;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
