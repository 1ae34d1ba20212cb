import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiResponse } from '@nestjs/swagger';
import type { ContentObject, SchemaObject } from '@nestjs/swagger';
import { PROBLEMS, type ProblemCode } from '@libs/contracts/problem';

/** The problem schema's name under `components.schemas` (openapi.ts registers it). */
export const PROBLEM_SCHEMA = 'Problem';
export const BEARER = 'bearer';

/** Who may call a route, as the admin guard decides it: the document says so, the guard enforces it. */
export type RouteAccess = 'public' | 'viewer' | 'admin';

export interface RouteDocs {
  summary: string;
  description: string;
  access: RouteAccess;
  /** the success answer: a JSON Schema for application/json, or the content it is served as */
  answer: Record<string, unknown> | { content: ContentObject };
  /** what the success answer is */
  answerDescription?: string;
  /** the codes this route answers besides the success; 401/403 for the token and 500 are added by access */
  problems?: ProblemCode[];
  query?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

/**
 * One decorator per route for its OpenAPI entry: what it does, its answer,
 * its problems (application/problem+json, grouped by status) and, on admin
 * and viewer routes, the bearer token it needs.
 */
export function ApiRoute(docs: RouteDocs): MethodDecorator {
  const codes: ProblemCode[] = [...(docs.problems ?? []), ...accessProblems(docs.access), 'internal_error'];
  return applyDecorators(
    ApiOperation({ summary: docs.summary, description: `${docs.description}\n\n${ACCESS_SENTENCES[docs.access]}` }),
    ApiResponse({ status: 200, description: docs.answerDescription ?? 'success', content: answerContent(docs.answer) }),
    ...problemResponses(codes),
    ...(docs.access === 'public' ? [] : [ApiBearerAuth(BEARER)]),
    ...Object.entries(docs.query ?? {}).map(([name, { description, schema }]) =>
      ApiQuery({ name, required: false, description, schema: schema as SchemaObject }),
    ),
  );
}

const ACCESS_SENTENCES: Record<RouteAccess, string> = {
  public: 'Access: no token.',
  viewer: 'Access: `Authorization: Bearer <token>`, a viewer or an admin token.',
  admin: 'Access: `Authorization: Bearer <token>`, an admin token.',
};

function accessProblems(access: RouteAccess): ProblemCode[] {
  if (access === 'public') return [];
  // every admin route reads or writes the database, so an outage answers 503
  return access === 'admin' ? ['unauthenticated', 'forbidden', 'unavailable'] : ['unauthenticated', 'unavailable'];
}

function answerContent(answer: RouteDocs['answer']): ContentObject {
  if ('content' in answer) return answer.content as ContentObject;
  return { 'application/json': { schema: answer as SchemaObject } };
}

function problemResponses(codes: ProblemCode[]): MethodDecorator[] {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of new Set(codes))
    byStatus.set(PROBLEMS[code].status, [...(byStatus.get(PROBLEMS[code].status) ?? []), code]);
  return [...byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, group]) =>
      ApiResponse({
        status,
        description: group.map((code) => `\`${code}\`: ${PROBLEMS[code].title}`).join('; '),
        content: { 'application/problem+json': { schema: { $ref: `#/components/schemas/${PROBLEM_SCHEMA}` } } },
      }),
    );
}

/** A configuration document as a request body: YAML text or the same as JSON. */
export function ApiDocumentBody(): MethodDecorator {
  return applyDecorators(
    ApiConsumes('application/yaml', 'application/json'),
    ApiBody({
      required: true,
      description: "the section's document, as YAML text or JSON (at most 1 MiB)",
      schema: {},
    }),
  );
}
