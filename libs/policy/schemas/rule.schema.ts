// Types and unknown keys of a rule. Which keys may appear together (exactly one
// operator, `every` only on value rules) is the rule validator's job: `oneOf`
// over the forms would bury the one useful message under one per branch.

/** Bounds compile time and memory of one operand; real patterns are far shorter. */
export const MAX_OPERAND_LENGTH = 1024;
export const MAX_IN_ITEMS = 1000;

const operand = { type: 'string', maxLength: MAX_OPERAND_LENGTH } as const;

export const ruleDefinitions = {
  rule: {
    type: 'object',
    additionalProperties: false,
    properties: {
      attribute: { type: 'string', minLength: 1, maxLength: 256 },
      equals: operand,
      in: { type: 'array', minItems: 1, maxItems: MAX_IN_ITEMS, items: operand },
      glob: operand,
      regex: operand,
      cidr: { type: 'string', maxLength: 64 },
      exists: { type: 'boolean' },
      equalsAttribute: { type: 'string', minLength: 1, maxLength: 256 },
      every: { type: 'boolean' },
      not: { $ref: '#/definitions/rule' },
      allOf: { type: 'array', minItems: 1, items: { $ref: '#/definitions/rule' } },
      anyOf: { type: 'array', minItems: 1, items: { $ref: '#/definitions/rule' } },
    },
  },
} as const;
