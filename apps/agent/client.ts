import { describeBody, parseJson } from '../../libs/cli-support/answers';
import { clean } from '../../libs/cli-support/terminal-text';
import type {
  CompleteLoginRequest,
  CompleteLoginResponse,
  JwtSvidRequest,
  JwtSvidResponse,
  RenewRequest,
  RenewResponse,
  StartLoginRequest,
  StartLoginResponse,
} from '../../libs/contracts/agent-api';
import { isErrorLike } from '../../libs/cli-support/errors';

export const DEFAULT_TIMEOUT_MS = 30_000;

/** The Agent API calls the agent makes (`api.md`); a seam for tests and later commands. */
export interface AgentApi {
  startLogin(providedMethods: string[]): Promise<StartLoginResponse>;
  completeLogin(loginId: string, proofs: Record<string, unknown>, csr: string): Promise<CompleteLoginResponse>;
}

/** What an agent holding an SVID asks for with it (`api.md`, "renew" and "jwt-svid"). */
export interface SvidApi {
  renew(request: RenewRequest): Promise<RenewResponse>;
  jwtSvid(request: JwtSvidRequest): Promise<JwtSvidResponse>;
}

export interface AgentClientOptions {
  /** base URL of attestd, e.g. `https://attestd.example.org:8443` (a path prefix is kept) */
  server: string;
  /** per request, headers and body; default 30 s */
  timeoutMs?: number;
  /** defaults to the global fetch */
  fetch?: typeof fetch;
}

/**
 * attestd answered, but not with success: a problem document (`code`,
 * `detail` as the server sent them) or, when the answer is not one, code
 * `unexpected_response` with a description of what came back.
 */
export class AgentApiError extends Error {
  override readonly name = 'AgentApiError';
  readonly requestId: string | undefined;
  /** from `Retry-After` (429, 503), for callers that retry */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    /** what the agent was doing: `login`, ... */
    readonly operation: string,
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    extra: { requestId?: string; retryAfterSeconds?: number } = {},
  ) {
    super(`${operation} failed: ${status} ${code}: ${detail}`);
    this.requestId = extra.requestId;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

/**
 * attestd refused for good: a 4xx answer other than 408 and 429 (evicted,
 * banned, a proof it will not accept, a used join token). Asking again
 * cannot change it; no answer, 5xx, 408 and 429 can.
 */
export function isRefusal(error: unknown): error is AgentApiError {
  return error instanceof AgentApiError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

/** No answer from attestd: connection refused, DNS, TLS, redirect refused or timeout. */
export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';

  constructor(
    readonly operation: string,
    readonly server: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`${operation} failed: cannot reach attestd at ${server}: ${reason}`, options);
  }
}

/** Small HTTP client for the Agent API. Proofs are credentials, so redirects are never followed. */
export class AgentClient implements AgentApi, SvidApi {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: AgentClientOptions) {
    this.base = options.server.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async startLogin(providedMethods: string[]): Promise<StartLoginResponse> {
    const body: StartLoginRequest = { providedMethods };
    const answer = await this.post('login', '/v1/agent/login', body);
    return readStartLogin(answer);
  }

  async completeLogin(
    loginId: string,
    proofs: Record<string, unknown>,
    csr: string,
  ): Promise<CompleteLoginResponse> {
    const body: CompleteLoginRequest = { proofs, csr };
    const answer = await this.post('login', `/v1/agent/login/${encodeURIComponent(loginId)}/complete`, body);
    return readCompleteLogin(answer);
  }

  async renew(request: RenewRequest): Promise<RenewResponse> {
    return readRenew(await this.post('renew', '/v1/agent/renew', request));
  }

  async jwtSvid(request: JwtSvidRequest): Promise<JwtSvidResponse> {
    const shape = new Shape('jwt-svid', 'jwt-svid answer', await this.post('jwt-svid', '/v1/agent/jwt-svid', request));
    const object = shape.record();
    return { token: shape.string(object, 'token'), expiresAt: shape.string(object, 'expiresAt') };
  }

  private async post(operation: string, path: string, body: unknown): Promise<unknown> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(`${this.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, application/problem+json' },
        body: JSON.stringify(body),
        redirect: 'error',
        signal,
      });
      text = await response.text();
    } catch (error) {
      throw new ServerUnreachableError(operation, this.base, this.describeFailure(error), { cause: error });
    }

    const contentType = response.headers.get('content-type') ?? '';
    const json = /\bjson\b/i.test(contentType) ? parseJson(text) : undefined;
    if (response.ok) {
      if (json === undefined) {
        throw new AgentApiError(operation, response.status, 'unexpected_response', describeBody(contentType, text));
      }
      return json;
    }
    throw problemError(operation, response, json, contentType, text);
  }

  private describeFailure(error: unknown): string {
    if (isErrorLike(error) && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      return `no answer within ${formatSeconds(this.timeoutMs)}`;
    }
    // undici reports "fetch failed" and puts the reason (ECONNREFUSED, redirect, TLS) in `cause`
    const cause = isErrorLike(error) && isErrorLike(error.cause) ? error.cause : error;
    if (isErrorLike(cause)) {
      if (cause.message === 'unexpected redirect') return 'it answered with a redirect, which the agent does not follow';
      const code = cause.code;
      return typeof code === 'string' && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
    }
    return String(cause);
  }
}

function problemError(
  operation: string,
  response: Response,
  json: unknown,
  contentType: string,
  text: string,
): AgentApiError {
  const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
  if (isRecord(json) && typeof json.code === 'string') {
    const detail = typeof json.detail === 'string' && json.detail !== '' ? json.detail : String(json.title ?? '');
    return new AgentApiError(operation, response.status, clean(json.code, 64), clean(detail, 1000), {
      requestId: typeof json.requestId === 'string' ? clean(json.requestId, 128) : undefined,
      retryAfterSeconds,
    });
  }
  return new AgentApiError(operation, response.status, 'unexpected_response', describeBody(contentType, text), {
    retryAfterSeconds,
  });
}



function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}


function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the parts of a 2xx answer the agent relies on; the message names what is missing. */
class Shape {
  constructor(
    private readonly operation: string,
    private readonly what: string,
    private readonly value: unknown,
  ) {}

  fail(problem: string): never {
    throw new AgentApiError(this.operation, 200, 'unexpected_response', `${this.what} ${problem}`);
  }

  record(): Record<string, unknown> {
    if (!isRecord(this.value)) this.fail('is not a JSON object');
    return this.value;
  }

  string(object: Record<string, unknown>, path: string): string {
    const value = path.split('.').reduce<unknown>((at, key) => (isRecord(at) ? at[key] : undefined), object);
    if (typeof value !== 'string' || value === '') this.fail(`lacks ${path}`);
    return value;
  }

  strings(object: Record<string, unknown>, key: string): string[] {
    const value = object[key];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) this.fail(`lacks ${key}`);
    return value as string[];
  }
}

function readStartLogin(answer: unknown): StartLoginResponse {
  const shape = new Shape('login', 'login start answer', answer);
  const object = shape.record();
  const challenges = object.challenges ?? {};
  if (!isRecord(challenges) || !Object.values(challenges).every((value) => typeof value === 'string')) {
    shape.fail('has malformed challenges');
  }
  return {
    loginId: shape.string(object, 'loginId'),
    expiresAt: shape.string(object, 'expiresAt'),
    requiredAttestors: shape.strings(object, 'requiredAttestors'),
    challenges: challenges as Record<string, string>,
  };
}

function readCompleteLogin(answer: unknown): CompleteLoginResponse {
  const shape = new Shape('login', 'login complete answer', answer);
  const object = shape.record();
  const attributes = object.attributes ?? {};
  if (!isRecord(attributes)) shape.fail('has malformed attributes');
  return {
    agentId: shape.string(object, 'agentId'),
    spiffeId: shape.string(object, 'spiffeId'),
    policy: typeof object.policy === 'string' ? object.policy : '',
    attributes: attributes as Record<string, string[]>,
    selectors: Array.isArray(object.selectors) ? (object.selectors as string[]) : [],
    svid: {
      certChain: shape.string(object, 'svid.certChain'),
      expiresAt: shape.string(object, 'svid.expiresAt'),
    },
    bundle: shape.string(object, 'bundle'),
    // an attestd from before the field existed: the agent cannot know, so it does not log in again by itself
    reattestable: object.reattestable === true,
  };
}

function readRenew(answer: unknown): RenewResponse {
  const shape = new Shape('renew', 'renew answer', answer);
  const object = shape.record();
  return {
    spiffeId: shape.string(object, 'spiffeId'),
    svid: {
      certChain: shape.string(object, 'svid.certChain'),
      expiresAt: shape.string(object, 'svid.expiresAt'),
    },
    bundle: shape.string(object, 'bundle'),
  };
}
