import { answerChecker, type AnswerCheck } from '@libs/cli-support/answer-check';
import { describeBody, parseJson, readProblem } from '@libs/cli-support/answers';
import { describeFailure } from '@libs/cli-support/failure';
import {
  completeLoginResponseSchema,
  jwtSvidResponseSchema,
  renewResponseSchema,
  startLoginResponseSchema,
  type CompleteLoginRequest,
  type CompleteLoginResponse,
  type JwtSvidRequest,
  type JwtSvidResponse,
  type RenewRequest,
  type RenewResponse,
  type StartLoginRequest,
  type StartLoginResponse,
} from '@libs/contracts/agent-api';

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
  return (
    error instanceof AgentApiError &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 408 &&
    error.status !== 429
  );
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
    const answer = checked(
      'login',
      'login start answer',
      checkStartLogin,
      await this.post('login', '/v1/agent/login', body),
    );
    return {
      loginId: answer.loginId,
      expiresAt: answer.expiresAt,
      requiredAttestors: answer.requiredAttestors,
      challenges: answer.challenges ?? {},
    };
  }

  async completeLogin(loginId: string, proofs: Record<string, unknown>, csr: string): Promise<CompleteLoginResponse> {
    const body: CompleteLoginRequest = { proofs, csr };
    const answer = checked(
      'login',
      'login complete answer',
      checkCompleteLogin,
      await this.post('login', `/v1/agent/login/${encodeURIComponent(loginId)}/complete`, body),
    );
    return {
      agentId: answer.agentId,
      spiffeId: answer.spiffeId,
      policy: answer.policy ?? '',
      attributes: answer.attributes ?? {},
      selectors: answer.selectors ?? [],
      svid: { certChain: answer.svid.certChain, expiresAt: answer.svid.expiresAt },
      bundle: answer.bundle,
      // an attestd from before the field existed: the agent cannot know, so it does not log in again by itself
      reattestable: answer.reattestable === true,
    };
  }

  async renew(request: RenewRequest): Promise<RenewResponse> {
    const answer = checked('renew', 'renew answer', checkRenew, await this.post('renew', '/v1/agent/renew', request));
    return {
      spiffeId: answer.spiffeId,
      svid: { certChain: answer.svid.certChain, expiresAt: answer.svid.expiresAt },
      bundle: answer.bundle,
    };
  }

  async jwtSvid(request: JwtSvidRequest): Promise<JwtSvidResponse> {
    const answer = checked(
      'jwt-svid',
      'jwt-svid answer',
      checkJwtSvid,
      await this.post('jwt-svid', '/v1/agent/jwt-svid', request),
    );
    return { token: answer.token, expiresAt: answer.expiresAt };
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
      throw new ServerUnreachableError(operation, this.base, describeFailure(error, this.timeoutMs, 'the agent'), {
        cause: error,
      });
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
}

function problemError(
  operation: string,
  response: Response,
  json: unknown,
  contentType: string,
  text: string,
): AgentApiError {
  const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
  const problem = readProblem(json, 1000);
  if (problem)
    return new AgentApiError(operation, response.status, problem.code, problem.detail, {
      requestId: problem.requestId,
      retryAfterSeconds,
    });
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

/** A 2xx answer, checked against its schema in `libs/contracts`; the error names what is missing or malformed. */
function checked<T>(operation: string, what: string, check: AnswerCheck<T>, answer: unknown): T {
  const result = check(answer);
  if ('problem' in result) throw new AgentApiError(operation, 200, 'unexpected_response', `${what} ${result.problem}`);
  return result.value;
}

type Partly<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

// fields added after the first release are optional in the answer
const checkStartLogin = answerChecker<Partly<StartLoginResponse, 'challenges'>>(startLoginResponseSchema);
const checkCompleteLogin =
  answerChecker<Partly<CompleteLoginResponse, 'policy' | 'attributes' | 'selectors' | 'reattestable'>>(
    completeLoginResponseSchema,
  );
const checkRenew = answerChecker<RenewResponse>(renewResponseSchema);
const checkJwtSvid = answerChecker<JwtSvidResponse>(jwtSvidResponseSchema);
