import { SECTION_NAMES } from '../spec-types';

/** Checked before anything else: which section, which schema version. */
export const envelopeSchema = {
  type: 'object',
  required: ['section', 'schema', 'spec'],
  additionalProperties: false,
  properties: {
    section: { type: 'string', enum: [...SECTION_NAMES] },
    schema: { type: 'string', const: 'v1' },
    spec: {},
  },
} as const;
