import { renderApiMarkdown, typeName, type OpenApi } from './openapi-markdown';

describe('the Markdown API reference', () => {
  it('names schema types in words', () => {
    expect(typeName({ type: 'string', format: 'date-time' })).toBe('string (date-time)');
    expect(typeName({ type: 'array', items: { type: 'string' } })).toBe('array of string');
    expect(typeName({ type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } })).toBe(
      'map of array of string',
    );
    expect(typeName({ oneOf: [{ type: 'string' }, { type: 'null' }] })).toBe('string or null');
    expect(typeName({ enum: ['active', 'banned'] })).toBe('`active`, `banned`');
    expect(typeName({ const: true })).toBe('`true`');
    expect(typeName({ $ref: '#/components/schemas/Problem' })).toBe('Problem');
    expect(typeName(undefined)).toBe('any');
  });

  it('renders an operation under its tag with its parameters, nested answer fields and problems', () => {
    const document: OpenApi = {
      info: { title: 'attestd', version: 'v1' },
      tags: [{ name: 'Admin API', description: 'bearer token' }],
      paths: {
        '/v1/things/{id}': {
          get: {
            summary: 'Show a thing',
            description: 'One thing.',
            tags: ['Admin API'],
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
            responses: {
              200: {
                content: {
                  'application/json': {
                    schema: {
                      type: 'object',
                      required: ['svid'],
                      properties: {
                        svid: {
                          type: 'object',
                          required: ['pem'],
                          properties: { pem: { type: 'string', description: 'a | b' } },
                        },
                      },
                    },
                  },
                },
              },
              404: { description: '`not_found`: Not found' },
            },
          },
        },
      },
    };
    const text = renderApiMarkdown(document);
    expect(text).toContain('## Admin API\n\nBearer token.\n\n### Show a thing\n\n`GET /v1/things/{id}`\n\nOne thing.');
    expect(text).toContain('| `id` | path | string | yes |  |');
    expect(text).toContain('| `svid.pem` | string | yes | a \\| b |');
    expect(text).toContain('| 404 | `not_found`: Not found |');
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toMatch(/\n{3}/);
  });
});
