import type { IncomingHttpHeaders } from 'node:http';
import type { Principal, ServiceName, World } from './world';

// The shared core of the four AWS wire protocols the simulator speaks:
// awsQuery (IAM, STS, Auto Scaling), ec2Query (EC2), awsJson1_1
// (Organizations) and restJson1 (EKS): XML building, error envelopes, and
// the handler contract each service implements.

/** An error AWS would answer with: its code, message and HTTP status. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
  }
}

export interface RawRequest {
  method: string;
  /** raw path, still percent-encoded, without the query */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ServiceRequest extends RawRequest {
  service: ServiceName;
  region: string;
  caller: Principal;
  requestId: string;
}

export interface ServiceResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ServiceHandler {
  readonly name: ServiceName;
  /** the operation named by the request (`DescribeInstances`), for the log and throttles; `unknown` if none */
  operation(req: RawRequest): string;
  /** the request's parameters, for the log */
  params(req: RawRequest): Record<string, unknown>;
  handle(req: ServiceRequest, world: World): ServiceResponse | Promise<ServiceResponse>;
  error(err: AwsError, requestId: string): ServiceResponse;
  /** what this service answers when it throttles */
  throttlingError(): AwsError;
}

// --- XML

export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

/** A leaf element; `undefined` omits it, `null` writes an empty element. */
export function leaf(name: string, value: string | number | boolean | Date | null | undefined): string {
  if (value === undefined) return '';
  if (value === null) return `<${name}/>`;
  const text = value instanceof Date ? value.toISOString() : String(value);
  return `<${name}>${escapeXml(text)}</${name}>`;
}

/** A container element around already-built children. */
export function node(name: string, ...children: string[]): string {
  const inner = children.join('');
  return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`;
}

/** A list: each entry wrapped in `itemTag` (`item` in EC2, `member` in awsQuery). */
export function list<T>(
  name: string,
  entries: readonly T[],
  render: (e: T) => string,
  itemTag: 'item' | 'member',
): string {
  return node(name, ...entries.map((e) => node(itemTag, render(e))));
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

function xmlResponse(status: number, body: string, requestId: string): ServiceResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: XML_DECLARATION + body,
  };
}

// --- form-encoded query parameters (awsQuery and ec2Query)

export function formParams(req: RawRequest): URLSearchParams {
  const params = new URLSearchParams(req.query);
  if (req.method === 'POST') for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) params.append(k, v);
  return params;
}

/** `Prefix.1`, `Prefix.2`, ... in order, stopping at the first gap (as AWS does). */
export function numberedList(params: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${prefix}.${i}`); i++) out.push(params.get(`${prefix}.${i}`) as string);
  return out;
}

function paramsObject(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) if (k !== 'Action' && k !== 'Version') out[k] = v;
  return out;
}

/** awsQuery: `<XResponse><XResult>...</XResult><ResponseMetadata>`; errors `<ErrorResponse><Error>`. */
export class QueryProtocol {
  constructor(
    readonly version: string,
    readonly namespace: string,
  ) {}

  operation(req: RawRequest): string {
    return formParams(req).get('Action') ?? 'unknown';
  }

  params(req: RawRequest): Record<string, unknown> {
    return paramsObject(formParams(req));
  }

  respond(action: string, result: string, requestId: string): ServiceResponse {
    const body =
      `<${action}Response xmlns="${this.namespace}">` +
      node(`${action}Result`, result) +
      node('ResponseMetadata', leaf('RequestId', requestId)) +
      `</${action}Response>`;
    return xmlResponse(200, body, requestId);
  }

  error(err: AwsError, requestId: string): ServiceResponse {
    const body =
      `<ErrorResponse xmlns="${this.namespace}">` +
      node('Error', leaf('Type', err.type), leaf('Code', err.code), leaf('Message', err.message)) +
      leaf('RequestId', requestId) +
      '</ErrorResponse>';
    return xmlResponse(err.status, body, requestId);
  }
}

/** ec2Query: `<XResponse><requestId>` then the output members; errors `<Response><Errors><Error>`. */
export class Ec2Protocol {
  readonly namespace = 'http://ec2.amazonaws.com/doc/2016-11-15/';

  operation(req: RawRequest): string {
    return formParams(req).get('Action') ?? 'unknown';
  }

  params(req: RawRequest): Record<string, unknown> {
    return paramsObject(formParams(req));
  }

  respond(action: string, members: string, requestId: string): ServiceResponse {
    const body = `<${action}Response xmlns="${this.namespace}">${leaf('requestId', requestId)}${members}</${action}Response>`;
    return xmlResponse(200, body, requestId);
  }

  error(err: AwsError, requestId: string): ServiceResponse {
    const body = node(
      'Response',
      node('Errors', node('Error', leaf('Code', err.code), leaf('Message', err.message))),
      leaf('RequestID', requestId),
    );
    return xmlResponse(err.status, body, requestId);
  }
}

function jsonResponse(
  status: number,
  contentType: string,
  value: unknown,
  requestId: string,
  extra: Record<string, string> = {},
): ServiceResponse {
  return {
    status,
    headers: { 'content-type': contentType, 'x-amzn-requestid': requestId, ...extra },
    body: JSON.stringify(value),
  };
}

/** awsJson1_1: POST / with `X-Amz-Target: <prefix>.<Operation>`; errors `{"__type", "Message"}`. */
export class Json11Protocol {
  static readonly contentType = 'application/x-amz-json-1.1';

  constructor(readonly targetPrefix: string) {}

  operation(req: RawRequest): string {
    const target = req.headers['x-amz-target'];
    if (typeof target !== 'string' || !target.startsWith(`${this.targetPrefix}.`)) return 'unknown';
    return target.slice(this.targetPrefix.length + 1);
  }

  params(req: RawRequest): Record<string, unknown> {
    return parseJsonBody(req);
  }

  respond(value: unknown, requestId: string): ServiceResponse {
    return jsonResponse(200, Json11Protocol.contentType, value, requestId);
  }

  error(err: AwsError, requestId: string): ServiceResponse {
    return jsonResponse(err.status, Json11Protocol.contentType, { __type: err.code, Message: err.message }, requestId);
  }
}

export function parseJsonBody(req: RawRequest): Record<string, unknown> {
  const text = req.body.toString('utf8').trim();
  if (text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AwsError('SerializationException', 'the request body is not a JSON object');
}

/** restJson1: routes by method and path; errors carry `x-amzn-errortype` and `{"message"}`. */
export const RestJson = {
  respond(value: unknown, requestId: string): ServiceResponse {
    return jsonResponse(200, 'application/json', value, requestId);
  },
  error(err: AwsError, requestId: string): ServiceResponse {
    return jsonResponse(err.status, 'application/json', { message: err.message }, requestId, {
      'x-amzn-errortype': err.code,
    });
  },
};

// --- pagination with opaque offset tokens

export function encodeToken(scope: string, offset: number): string {
  return Buffer.from(JSON.stringify({ s: scope, o: offset })).toString('base64url');
}

/** Returns the offset, or undefined if the token is not one we issued for `scope`. */
export function decodeToken(scope: string, token: string): number | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { s?: unknown; o?: unknown };
    return v.s === scope && typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0 ? v.o : undefined;
  } catch {
    return undefined;
  }
}

export function page<T>(all: readonly T[], offset: number, size: number): { items: T[]; next?: number } {
  const items = all.slice(offset, offset + size);
  return offset + size < all.length ? { items, next: offset + size } : { items };
}
