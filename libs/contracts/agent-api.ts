/** Wire types of the Agent API (`api.md`), shared by server and agent. */

export interface StartLoginRequest {
  providedMethods: string[];
}

export interface StartLoginResponse {
  loginId: string;
  expiresAt: string;
  requiredAttestors: string[];
  challenges: Record<string, string>;
}

export interface CompleteLoginRequest {
  proofs: Record<string, unknown>;
  csr: string;
}

export interface SvidResponse {
  certChain: string;
  expiresAt: string;
}

export interface CompleteLoginResponse {
  agentId: string;
  spiffeId: string;
  policy: string;
  attributes: Record<string, string[]>;
  selectors: string[];
  svid: SvidResponse;
  bundle: string;
  /**
   * Whether the agent may log in again by itself, with fresh proofs, once
   * this SVID can no longer renew (expired, or the agent evicted): false when
   * a proof was single use (a join token) or node-unique under a policy with
   * TOFU on, where an operator must evict the agent first. Added after the
   * first release: agents treat a missing value as false.
   */
  reattestable: boolean;
}

/** Attestor type names: lower-case words joined by `_` (`aws_iid`). */
export const ATTESTOR_TYPE_PATTERN = '^[a-z][a-z0-9_]{0,31}$';

export const startLoginSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['providedMethods'],
  properties: {
    providedMethods: {
      type: 'array',
      minItems: 1,
      maxItems: 8,
      uniqueItems: true,
      items: { type: 'string', pattern: ATTESTOR_TYPE_PATTERN },
    },
  },
} as const;

export const completeLoginSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['proofs', 'csr'],
  properties: {
    proofs: {
      type: 'object',
      maxProperties: 8,
      propertyNames: { pattern: ATTESTOR_TYPE_PATTERN },
      additionalProperties: { type: 'object' },
    },
    csr: { type: 'string', minLength: 1, maxLength: 16384 },
  },
} as const;

/** `POST /v1/agent/renew`: the current SVID, a new CSR, and a JWS by the SVID's key over the CSR's hash. */
export interface RenewRequest {
  certChain: string;
  csr: string;
  pop: string;
}

export interface RenewResponse {
  spiffeId: string;
  svid: SvidResponse;
  bundle: string;
}

/** `POST /v1/agent/jwt-svid`: the current SVID, a JWS by its key, and the audiences the token is for. */
export interface JwtSvidRequest {
  certChain: string;
  pop: string;
  audience: string[];
}

export interface JwtSvidResponse {
  token: string;
  expiresAt: string;
}

/** The proof-of-possession JWS payload an agent signs (`aud` is `attestd-renew` or `attestd-jwt-svid`). */
export interface ProofOfPossessionClaims {
  aud: 'attestd-renew' | 'attestd-jwt-svid';
  iat: number;
  jti: string;
  /** renewals only: base64url SHA-256 of the new CSR's DER */
  csr_sha256?: string;
}

const certChainProperty = { type: 'string', minLength: 1, maxLength: 65536 } as const;
const popProperty = { type: 'string', minLength: 1, maxLength: 16384 } as const;

export const renewSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['certChain', 'csr', 'pop'],
  properties: {
    certChain: certChainProperty,
    csr: { type: 'string', minLength: 1, maxLength: 16384 },
    pop: popProperty,
  },
} as const;

export const jwtSvidSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['certChain', 'pop', 'audience'],
  properties: {
    certChain: certChainProperty,
    pop: popProperty,
    audience: {
      type: 'array',
      minItems: 1,
      maxItems: 8,
      uniqueItems: true,
      items: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' },
    },
  },
} as const;

// Response schemas: what the server answers with 200, as the agent checks it
// (and as the OpenAPI document can describe it). Fields the agent relies on
// are required and non-empty; the rest were added after the first release,
// so an answer without them is still valid. Unknown fields are allowed, so
// an agent keeps working with a newer server.

const requiredText = { type: 'string', minLength: 1 } as const;

export const svidResponseSchema = {
  type: 'object',
  required: ['certChain', 'expiresAt'],
  properties: {
    /** the SVID, then the CA that signed it (PEM) */
    certChain: requiredText,
    expiresAt: requiredText,
  },
} as const;

/** `POST /v1/agent/login`, 200 */
export const startLoginResponseSchema = {
  type: 'object',
  required: ['loginId', 'expiresAt', 'requiredAttestors'],
  properties: {
    loginId: requiredText,
    expiresAt: requiredText,
    requiredAttestors: { type: 'array', items: { type: 'string' } },
    challenges: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

/** `POST /v1/agent/login/{loginId}/complete`, 200 */
export const completeLoginResponseSchema = {
  type: 'object',
  required: ['agentId', 'spiffeId', 'svid', 'bundle'],
  properties: {
    agentId: requiredText,
    spiffeId: requiredText,
    policy: { type: 'string' },
    attributes: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
    selectors: { type: 'array', items: { type: 'string' } },
    svid: svidResponseSchema,
    bundle: requiredText,
    reattestable: { type: 'boolean' },
  },
} as const;

/** `POST /v1/agent/renew`, 200 */
export const renewResponseSchema = {
  type: 'object',
  required: ['spiffeId', 'svid', 'bundle'],
  properties: {
    spiffeId: requiredText,
    svid: svidResponseSchema,
    bundle: requiredText,
  },
} as const;

/** `POST /v1/agent/jwt-svid`, 200 */
export const jwtSvidResponseSchema = {
  type: 'object',
  required: ['token', 'expiresAt'],
  properties: {
    token: requiredText,
    expiresAt: requiredText,
  },
} as const;
