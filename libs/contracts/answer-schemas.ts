// JSON Schemas of what the server answers, for the OpenAPI document: the
// agent answers built on the schemas the agent checks them with
// (agent-api.ts), the admin answers written out from admin-api.ts. The
// server never validates its own answers with them; they document the wire.
import {
  completeLoginResponseSchema,
  jwtSvidResponseSchema,
  renewResponseSchema,
  startLoginResponseSchema,
  svidResponseSchema,
} from './agent-api';

const text = { type: 'string' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullable = (schema: Record<string, unknown>) => ({ oneOf: [schema, { type: 'null' }] });
const texts = { type: 'array', items: text } as const;

/** `attributes`: each name (`<attestor>.<attribute>`) to its values, always a list of strings. */
const attributes = {
  type: 'object',
  additionalProperties: texts,
  description: 'verified attributes: `<attestor>.<name>` to a list of values',
} as const;

/**
 * An agent answer as the OpenAPI document describes it: the schema the
 * agent checks answers with (agent-api.ts), so the two cannot drift, with
 * every field today's server sends required and with each field's
 * description (and format) added. The agent's own schema requires less: an
 * answer from an older server is still valid to it.
 */
function documented<S extends { readonly properties: Record<string, object> }>(
  schema: S,
  required: readonly (keyof S['properties'] & string)[],
  details: { readonly [K in keyof S['properties']]?: Record<string, unknown> },
) {
  const properties = Object.fromEntries(
    Object.entries(schema.properties).map(([name, property]) => [
      name,
      { ...property, ...(details as Record<string, Record<string, unknown> | undefined>)[name] },
    ]),
  );
  return { ...schema, required: [...required], properties };
}

const dateTime = { format: 'date-time' } as const;
const svid = documented(svidResponseSchema, ['certChain', 'expiresAt'], {
  certChain: { description: 'the X.509-SVID and its chain to the trust bundle, PEM' },
  expiresAt: dateTime,
});

export const startLoginAnswer = documented(
  startLoginResponseSchema,
  ['loginId', 'expiresAt', 'requiredAttestors', 'challenges'],
  {
    loginId: { description: 'opaque and signed; completes at most once, within 5 minutes, on any replica' },
    expiresAt: dateTime,
    requiredAttestors: { description: "the union of the candidate policies' required attestors" },
    challenges: { description: 'a fresh nonce per provided attestor that binds one (`aws_iam`)' },
  },
);

export const completeLoginAnswer = documented(
  completeLoginResponseSchema,
  ['agentId', 'spiffeId', 'policy', 'attributes', 'selectors', 'svid', 'bundle', 'reattestable'],
  {
    agentId: { format: 'uuid' },
    policy: { description: 'the policy that allowed the login' },
    attributes: { description: 'verified attributes: `<attestor>.<name>` to a list of values' },
    selectors: { description: 'SPIRE-compatible selectors, `<attestor>:<name>:<value>`' },
    svid,
    bundle: { description: 'the trust bundle, PEM' },
    reattestable: {
      description: 'whether the agent may log in again by itself with fresh proofs once this SVID can no longer renew',
    },
  },
);

export const renewAnswer = documented(renewResponseSchema, ['spiffeId', 'svid', 'bundle'], {
  svid,
  bundle: { description: 'the trust bundle, PEM' },
});

export const jwtSvidAnswer = documented(jwtSvidResponseSchema, ['token', 'expiresAt'], {
  token: { description: 'the JWT-SVID (compact JWS)' },
  expiresAt: dateTime,
});

export const healthAnswer = (status: string) => ({
  type: 'object',
  required: ['status'],
  properties: { status: { const: status } },
});

export const jwksAnswer = {
  type: 'object',
  required: ['keys'],
  properties: {
    keys: {
      type: 'array',
      items: { type: 'object', required: ['kty', 'kid'], properties: { kty: text, kid: text, alg: text, use: text } },
    },
  },
};

export const openIdConfigurationAnswer = {
  type: 'object',
  required: ['issuer', 'jwks_uri', 'id_token_signing_alg_values_supported'],
  properties: {
    issuer: text,
    jwks_uri: text,
    response_types_supported: texts,
    subject_types_supported: texts,
    id_token_signing_alg_values_supported: texts,
    claims_supported: texts,
    scopes_supported: texts,
  },
};

const versionFields = { section: text, version: { type: 'integer' }, sha256: text, createdAt: time };

const warnings = {
  type: 'array',
  description: 'things a valid document does that are probably not meant; they never stop it',
  items: {
    type: 'object',
    required: ['path', 'message'],
    properties: { path: text, line: { type: 'integer' }, column: { type: 'integer' }, message: text },
  },
};

export const pushedVersionAnswer = {
  type: 'object',
  required: ['section', 'version', 'sha256', 'createdAt', 'warnings'],
  properties: { ...versionFields, warnings },
};

export const storedVersionAnswer = {
  type: 'object',
  required: ['section', 'version', 'sha256', 'createdAt', 'createdBy', 'document'],
  properties: { ...versionFields, createdBy: text, document: { description: 'the document, as JSON' } },
};

export const versionHistoryAnswer = {
  type: 'object',
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['version', 'sha256', 'createdAt', 'createdBy'],
        properties: { version: { type: 'integer' }, sha256: text, createdAt: time, createdBy: text },
      },
    },
  },
};

export const validationAnswer = {
  type: 'object',
  required: ['valid', 'warnings'],
  properties: { valid: { const: true }, warnings },
};

const wasDecision = {
  type: 'object',
  required: ['allowed', 'outcome', 'code', 'policy', 'spiffeId'],
  properties: {
    allowed: { type: 'boolean' },
    outcome: { enum: ['success', 'failure'] },
    code: nullable(text),
    policy: nullable(text),
    spiffeId: nullable(text),
  },
};
const nowDecision = {
  type: 'object',
  required: ['allowed', 'code', 'policy', 'spiffeId', 'reason'],
  properties: {
    allowed: { type: 'boolean' },
    code: nullable(text),
    policy: nullable(text),
    spiffeId: nullable(text),
    reason: nullable(text),
  },
};
const simulatedLogins = {
  type: 'array',
  items: {
    type: 'object',
    required: ['auditId', 'at', 'attestors', 'agentId', 'sourceIp', 'attributes', 'was', 'now'],
    properties: {
      auditId: text,
      at: time,
      attestors: texts,
      agentId: nullable(text),
      sourceIp: nullable(text),
      attributes,
      was: wasDecision,
      now: nowDecision,
    },
  },
};

export const simulationAnswer = {
  type: 'object',
  required: ['evaluated', 'unchanged', 'nowAllowed', 'nowDenied', 'changed', 'skipped', 'window'],
  properties: {
    evaluated: { type: 'integer', description: 'attempts replayed' },
    unchanged: { type: 'integer' },
    nowAllowed: simulatedLogins,
    nowDenied: simulatedLogins,
    changed: { ...simulatedLogins, description: 'allowed before and after, under another policy or SPIFFE ID' },
    skipped: { type: 'integer', description: 'attempts with no verified proof, which cannot be replayed' },
    window: {
      type: 'object',
      required: ['limit', 'since', 'oldest', 'newest'],
      properties: { limit: { type: 'integer' }, since: nullable(time), oldest: nullable(time), newest: nullable(time) },
    },
  },
};

export const agentAnswer = {
  type: 'object',
  required: [
    'id',
    'spiffeId',
    'attestorTypes',
    'tofuKeys',
    'status',
    'policy',
    'attributes',
    'selectors',
    'firstAttestedAt',
    'lastSeenAt',
    'svidSerial',
    'svidExpiresAt',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    spiffeId: text,
    attestorTypes: texts,
    tofuKeys: texts,
    status: { enum: ['active', 'evicted', 'banned'] },
    policy: text,
    attributes,
    selectors: texts,
    firstAttestedAt: time,
    lastSeenAt: time,
    svidSerial: nullable(text),
    svidExpiresAt: nullable(time),
  },
};

export const auditEventAnswer = {
  type: 'object',
  required: [
    'id',
    'at',
    'event',
    'outcome',
    'code',
    'reason',
    'attestors',
    'policy',
    'attributes',
    'spiffeId',
    'agentId',
    'sourceIp',
    'requestId',
    'actor',
  ],
  properties: {
    id: text,
    at: time,
    event: { enum: ['login', 'renew', 'jwt_svid', 'evict', 'ban', 'unban', 'config_change', 'join_token_created'] },
    outcome: { enum: ['success', 'failure'] },
    code: nullable(text),
    reason: nullable(text),
    attestors: texts,
    policy: nullable(text),
    attributes: nullable(attributes),
    spiffeId: nullable(text),
    agentId: nullable(text),
    sourceIp: nullable(text),
    requestId: nullable(text),
    actor: nullable(text),
  },
};

/** `{ items, nextCursor }`: pass `nextCursor` back as `?cursor=` until it is null. */
export const page = (item: Record<string, unknown>) => ({
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: { items: { type: 'array', items: item }, nextCursor: nullable(text) },
});

export const joinTokenAnswer = {
  type: 'object',
  required: ['id', 'token', 'expiresAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    token: { type: 'string', description: 'the secret, shown in this answer only' },
    expiresAt: time,
  },
};
