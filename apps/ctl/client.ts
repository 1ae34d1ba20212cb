import { describeBody, isRecord, parseJson, readProblem } from '@libs/cli-support/answers';
import { describeFailure } from '@libs/cli-support/failure';
import type { ProblemFieldError } from '@libs/contracts/problem';
import type {
  Agent,
  AgentChange,
  AgentQuery,
  AuditEvent,
  AuditQuery,
  ConfigWarning,
  JoinToken,
  Page,
  PushedVersion,
  SimulationResult,
  StoredVersion,
  ValidationAnswer,
  VersionHistory,
  VersionSummary,
} from '@libs/contracts/admin-api';
import { clean } from './table';

export const DEFAULT_TIMEOUT_MS = 30_000;

export type DocumentType = 'yaml' | 'json';

const MEDIA_TYPE: Record<DocumentType, string> = { yaml: 'application/yaml', json: 'application/json' };
const ACCEPT_JSON = 'application/json, application/problem+json';

export interface AdminClientOptions {
  /** base URL of attestd, e.g. `https://attestd.example.org:8443` (a path prefix is kept) */
  server: string;
  /** admin or viewer bearer token; without one every call is a 401 */
  token?: string;
  /** per request, headers and body; default 30 s */
  timeoutMs?: number;
  /** defaults to the global fetch */
  fetch?: typeof fetch;
}

/**
 * attestd answered, but not with success: a problem document (`code`,
 * `detail`, `errors[]` as the server sent them, cleaned for a terminal) or,
 * when the answer is not one, code `unexpected_response`.
 */
export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: ProblemFieldError[] = [],
    readonly requestId?: string,
    /** the document file the request sent, so `errors[]` print as `FILE:LINE:COL /path: message` */
    readonly file?: string,
  ) {
    super(`${status} ${code}: ${detail}`);
  }

  inFile(file: string): AdminApiError {
    return new AdminApiError(this.status, this.code, this.detail, this.errors, this.requestId, file);
  }
}

/** No answer from attestd: connection refused, DNS, TLS, redirect refused or timeout. */
export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';

  constructor(
    readonly server: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach attestd at ${server}: ${reason}`, options);
  }
}

interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: string;
  contentType?: string;
  accept?: string;
}

/**
 * Small HTTP client for the Admin API (`api.md`). The bearer token is a
 * credential, so redirects are never followed.
 */
export class AdminClient {
  readonly server: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: AdminClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** The new (or unchanged) version, and the document's warnings (a server older than them sends none). */
  pushConfig(
    section: string,
    text: string,
    type: DocumentType,
  ): Promise<Omit<PushedVersion, 'warnings'> & { warnings?: ConfigWarning[] }> {
    return this.json('PUT', configPath(section), { body: text, contentType: MEDIA_TYPE[type] });
  }

  validateConfig(
    section: string,
    text: string,
    type: DocumentType,
  ): Promise<Omit<ValidationAnswer, 'warnings'> & { warnings?: ConfigWarning[] }> {
    return this.json('POST', `${configPath(section)}/validate`, { body: text, contentType: MEDIA_TYPE[type] });
  }

  simulateConfig(
    section: string,
    text: string,
    type: DocumentType,
    window: { limit?: number; since?: string } = {},
  ): Promise<SimulationResult> {
    return this.json('POST', `${configPath(section)}/simulate`, {
      body: text,
      contentType: MEDIA_TYPE[type],
      query: { ...window },
    });
  }

  getConfig(section: string, version?: number): Promise<StoredVersion> {
    return this.json('GET', configPath(section), { query: { version } });
  }

  /** The document as it was pushed (YAML, or the JSON text when it was pushed as JSON). */
  async getConfigText(section: string, version?: number): Promise<string> {
    const { text } = await this.send('GET', configPath(section), {
      query: { version },
      accept: 'application/yaml, application/problem+json',
    });
    return text;
  }

  configHistory(section: string): Promise<VersionHistory> {
    return this.json('GET', `${configPath(section)}/versions`);
  }

  rollbackConfig(section: string, version: number): Promise<VersionSummary> {
    return this.json('POST', `${configPath(section)}/rollback`, jsonBody({ version }));
  }

  listAgents(query: AgentQuery): Promise<Page<Agent>> {
    return this.json('GET', '/v1/agents', { query: { ...query } });
  }

  getAgent(id: string): Promise<Agent> {
    return this.json('GET', `/v1/agents/${encodeURIComponent(id)}`);
  }

  changeAgent(id: string, change: AgentChange): Promise<Agent> {
    return this.json('POST', `/v1/agents/${encodeURIComponent(id)}/${change}`);
  }

  listAudit(query: AuditQuery): Promise<Page<AuditEvent>> {
    return this.json('GET', '/v1/audit', { query: { ...query } });
  }

  createJoinToken(ttlSeconds?: number): Promise<JoinToken> {
    return this.json('POST', '/v1/join-tokens', jsonBody(ttlSeconds === undefined ? {} : { ttlSeconds }));
  }

  private async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { text, contentType, status } = await this.send(method, path, { accept: ACCEPT_JSON, ...options });
    const json = /\bjson\b/i.test(contentType) ? parseJson(text) : undefined;
    if (json === undefined) throw new AdminApiError(status, 'unexpected_response', describeBody(contentType, text));
    return json as T;
  }

  /** One request; a non-2xx answer becomes an AdminApiError, no answer a ServerUnreachableError. */
  private async send(
    method: string,
    path: string,
    options: RequestOptions,
  ): Promise<{ status: number; contentType: string; text: string }> {
    const headers: Record<string, string> = {};
    if (options.accept) headers.accept = options.accept;
    if (options.contentType) headers['content-type'] = options.contentType;
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(`${this.server}${path}${queryString(options.query)}`, {
        method,
        headers,
        ...(options.body !== undefined && { body: options.body }),
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new ServerUnreachableError(this.server, describeFailure(error, this.timeoutMs, 'attestctl'), {
        cause: error,
      });
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (!response.ok) throw problemError(response.status, contentType, text);
    return { status: response.status, contentType, text };
  }
}

function configPath(section: string): string {
  return `/v1/config/${encodeURIComponent(section)}`;
}

function jsonBody(value: unknown): RequestOptions {
  return { body: JSON.stringify(value), contentType: 'application/json' };
}

function queryString(query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function problemError(status: number, contentType: string, text: string): AdminApiError {
  const json = /\bjson\b/i.test(contentType) ? parseJson(text) : undefined;
  const problem = readProblem(json, 2000);
  if (!problem || !isRecord(json))
    return new AdminApiError(status, 'unexpected_response', describeBody(contentType, text));
  const errors = Array.isArray(json.errors) ? json.errors.filter(isRecord).slice(0, 100).map(fieldError) : [];
  return new AdminApiError(status, problem.code, problem.detail, errors, problem.requestId);
}

function fieldError(entry: Record<string, unknown>): ProblemFieldError {
  return {
    path: clean(String(entry.path ?? ''), 500),
    message: clean(String(entry.message ?? ''), 1000),
    ...(Number.isInteger(entry.line) && { line: entry.line as number }),
    ...(Number.isInteger(entry.column) && { column: entry.column as number }),
  };
}
