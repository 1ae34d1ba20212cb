import { ruleDefinitions } from './rule.schema';

// Attestor types and each `config` are checked against the catalog by the
// semantic validator: the catalog is not known when this schema is compiled.

export const POLICY_NAME_PATTERN = '^[a-z0-9_-]+$';

export const agentAttestationSpecSchema = {
  type: 'object',
  required: ['policies'],
  additionalProperties: false,
  definitions: ruleDefinitions,
  properties: {
    policies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'requiredAttestors'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 128, pattern: POLICY_NAME_PATTERN },
          requiredAttestors: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              required: ['type'],
              additionalProperties: false,
              properties: {
                type: { type: 'string' },
                config: {},
              },
            },
          },
          rules: { type: 'array', items: { $ref: '#/definitions/rule' } },
          spiffeIdTemplate: { type: 'string', minLength: 1, maxLength: 2048 },
          svidTtl: { type: 'string', minLength: 1 },
          tofu: { type: 'boolean' },
        },
      },
    },
  },
} as const;
