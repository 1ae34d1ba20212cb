/**
 * The closed set of error codes the REST API answers with (`api.md`), each
 * with its HTTP status and title. Shared by the server, which maps domain
 * errors through it, and the CLIs, which read problems back.
 */
export const PROBLEMS = {
  invalid_request: { status: 400, title: 'Invalid request' },
  unauthenticated: { status: 401, title: 'Unauthenticated' },
  attestation_failed: { status: 401, title: 'Attestation failed' },
  invalid_proof_of_possession: { status: 401, title: 'Invalid proof of possession' },
  forbidden: { status: 403, title: 'Forbidden' },
  no_policy_for_methods: { status: 403, title: 'No policy for the provided attestors' },
  policy_denied: { status: 403, title: 'Policy denied' },
  agent_banned: { status: 403, title: 'Agent banned' },
  agent_evicted: { status: 403, title: 'Agent evicted' },
  not_found: { status: 404, title: 'Not found' },
  login_not_found: { status: 404, title: 'Login not found' },
  node_already_attested: { status: 409, title: 'Node already attested' },
  spiffe_id_in_use: { status: 409, title: 'SPIFFE ID in use' },
  login_expired: { status: 410, title: 'Login expired' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  invalid_config: { status: 422, title: 'Invalid configuration' },
  rate_limited: { status: 429, title: 'Rate limited' },
  internal_error: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export interface ProblemFieldError {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** RFC 9457 problem document as attestd sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail: string;
  requestId?: string;
  errors?: ProblemFieldError[];
}

export function problemTypeUri(code: ProblemCode): string {
  return `urn:attestd:problem:${code}`;
}

/** JSON Schema of a problem document, as the OpenAPI document publishes it. */
export const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details; `code` is the stable machine-readable error, `detail` says what to do',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: {
      type: 'string',
      description: '`urn:attestd:problem:<code>`',
      examples: ['urn:attestd:problem:attestation_failed'],
    },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', enum: Object.keys(PROBLEMS) },
    detail: { type: 'string', description: 'what was wrong, in words an operator can act on; never a secret' },
    requestId: { type: 'string', description: 'the request id the server logged and audited under' },
    errors: {
      type: 'array',
      description: 'one entry per field in error (body validation, configuration documents)',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: {
          path: { type: 'string' },
          message: { type: 'string' },
          line: { type: 'integer' },
          column: { type: 'integer' },
        },
      },
    },
  },
};
