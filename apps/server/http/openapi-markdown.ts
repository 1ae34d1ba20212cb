// Renders the OpenAPI document as the Markdown API reference
// (docs/reference/api.md). Written here rather than taken from a generator
// package: the document is small and uses a handful of schema forms, and the
// generators on the registry render 3.1 schemas (`const`, `oneOf` with
// `null`) poorly or pull in a template engine for a page of tables.

type Schema = Record<string, unknown>;
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }>; description?: string };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}
export interface OpenApi {
  info: { title: string; version: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** A schema's type in words: `string (date-time)`, `array of string`, `map of array of string`, `string or null`. */
export function typeName(schema: Schema | undefined): string {
  if (!schema) return 'any';
  if (typeof schema.$ref === 'string') return schema.$ref.split('/').pop()!;
  if ('const' in schema) return `\`${JSON.stringify(schema.const)}\``;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `\`${String(v)}\``).join(', ');
  if (Array.isArray(schema.oneOf))
    return (schema.oneOf as Schema[]).map((s) => (s.type === 'null' ? 'null' : typeName(s))).join(' or ');
  if (schema.type === 'array') return `array of ${typeName(schema.items as Schema)}`;
  if (schema.type === 'object' && !schema.properties && typeof schema.additionalProperties === 'object')
    return `map of ${typeName(schema.additionalProperties as Schema)}`;
  if (typeof schema.type === 'string') return schema.format ? `${schema.type} (${String(schema.format)})` : schema.type;
  return 'any';
}

/** One row per field, nested objects (and arrays of objects) flattened to dotted paths. */
function fieldRows(schema: Schema | undefined, prefix = ''): string[] {
  const object = schema?.type === 'array' ? (schema.items as Schema | undefined) : schema;
  const properties = (object?.properties ?? {}) as Record<string, Schema>;
  const required = new Set((object?.required ?? []) as string[]);
  return Object.entries(properties).flatMap(([name, field]) => {
    const path = `${prefix}${name}${field.type === 'array' && (field.items as Schema | undefined)?.properties ? '[]' : ''}`;
    const row = `| \`${path}\` | ${cell(typeName(field))} | ${required.has(name) ? 'yes' : 'no'} | ${cell(String(field.description ?? ''))} |`;
    return [row, ...fieldRows(field, `${path}.`)];
  });
}

function schemaSection(title: string, content: Record<string, { schema?: Schema }> | undefined): string[] {
  if (!content) return [];
  return Object.entries(content).flatMap(([mediaType, { schema }]) => {
    const rows = fieldRows(schema);
    const head = `${title} (\`${mediaType}\`): ${typeName(schema)}${schema?.description ? `, ${String(schema.description)}` : ''}`;
    return rows.length === 0
      ? [head, '']
      : [head, '', '| field | type | required | meaning |', '| --- | --- | --- | --- |', ...rows, ''];
  });
}

function operationSection(method: string, path: string, op: Operation): string[] {
  const lines = [
    `### ${op.summary ?? `${method.toUpperCase()} ${path}`}`,
    '',
    `\`${method.toUpperCase()} ${path}\``,
    '',
    op.description ?? '',
    '',
  ];
  if (op.parameters?.length) {
    lines.push('| parameter | in | type | required | meaning |', '| --- | --- | --- | --- | --- |');
    for (const p of op.parameters)
      lines.push(
        `| \`${p.name}\` | ${p.in} | ${cell(typeName(p.schema))} | ${p.required ? 'yes' : 'no'} | ${cell(p.description ?? '')} |`,
      );
    lines.push('');
  }
  lines.push(...schemaSection('Request body', op.requestBody?.content));
  const [success, ...failures] = Object.entries(op.responses);
  if (success) lines.push(...schemaSection(`Answer ${success[0]}`, success[1].content));
  if (failures.length) {
    lines.push('| status | problem codes |', '| --- | --- |');
    for (const [status, response] of failures) lines.push(`| ${status} | ${cell(response.description ?? '')} |`);
    lines.push('');
  }
  return lines;
}

export function renderApiMarkdown(document: OpenApi): string {
  const lines = [
    `# ${document.info.title} REST API ${document.info.version}`,
    '',
    '<!-- Generated from openapi.json by `npm run docs:api`; edit the controllers, not this file. -->',
    '',
    document.info.description ?? '',
    '',
    'The machine-readable document is [openapi.json](openapi.json); a running server serves it at `/docs/json` and a browsable form at `/docs`.',
    'What each problem code means and what to do about it: [troubleshooting](../operations/troubleshooting.md).',
    '',
  ];
  for (const tag of document.tags ?? []) {
    lines.push(
      `## ${tag.name}`,
      '',
      tag.description ? `${tag.description[0]!.toUpperCase()}${tag.description.slice(1)}.` : '',
      '',
    );
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(operations))
        if (op.tags?.includes(tag.name)) lines.push(...operationSection(method, path, op));
    }
  }
  const problem = document.components?.schemas?.Problem;
  if (problem)
    lines.push(
      '## Problem document',
      '',
      ...schemaSection('Every error', { 'application/problem+json': { schema: problem } }),
    );
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
