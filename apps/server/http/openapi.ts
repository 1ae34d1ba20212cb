import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { problemSchema } from '@libs/contracts/problem';
import { BEARER, PROBLEM_SCHEMA } from './openapi-route';

const DESCRIPTION = [
  'Node attestation and identity for a SPIFFE trust domain.',
  '',
  'The Agent API needs no token: the proofs (and, once attested, the SVID and a proof of possession) are the credential.',
  'The Admin API needs `Authorization: Bearer <token>`: a viewer token reads, an admin token also writes.',
  'Every error is an RFC 9457 problem document (`application/problem+json`) with a stable `code`.',
].join('\n');

/**
 * OpenAPI 3.1 at /docs (UI) and /docs/json, generated from the controllers'
 * `ApiRoute` entries; docs/reference/openapi.json is this document, checked
 * by test/deploy/openapi.test.ts.
 */
export function openApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('attestd')
    .setDescription(DESCRIPTION)
    .setVersion('v1')
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an admin or viewer token (`adminTokens`)' }, BEARER)
    .addTag('Agent API', 'logins, renewals and JWT-SVIDs; no bearer token')
    .addTag('Admin API', 'configuration, agents, audit and join tokens; bearer token')
    .addTag('Open endpoints', 'health, metrics, the trust bundle and OIDC discovery; no token')
    .build();
  const document = SwaggerModule.createDocument(app, config, { autoTagControllers: false });
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, [PROBLEM_SCHEMA]: problemSchema },
  };
  describeMetrics(document);
  return document;
}

export function serveOpenApi(app: NestFastifyApplication): void {
  // Only the UI and the JSON document: no YAML route.
  SwaggerModule.setup('docs', app, openApiDocument(app), { jsonDocumentUrl: 'docs/json', raw: ['json'] });
}

/**
 * The metrics route belongs to the telemetry module, which carries no
 * OpenAPI metadata of its own; its entry is written here.
 */
function describeMetrics(document: OpenAPIObject): void {
  const scrape = document.paths['/metrics']?.get;
  if (!scrape) return;
  Object.assign(scrape, {
    summary: 'Prometheus metrics',
    description:
      "The server's metrics in the Prometheus text exposition format, for a scraper. Keep it off public networks.\n\nAccess: no token.",
    tags: ['Open endpoints'],
    responses: {
      200: {
        description: 'metrics, Prometheus text format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
      500: {
        description: '`internal_error`: Internal error',
        content: { 'application/problem+json': { schema: { $ref: `#/components/schemas/${PROBLEM_SCHEMA}` } } },
      },
    },
  });
}
