import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * OpenAPI at /docs (UI) and /docs/json, generated from the controllers:
 * their routes, and the same JSON Schemas Ajv validates bodies with.
 */
export function serveOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('attestd')
    .setDescription('Node attestation and identity for a SPIFFE trust domain (see the product specification, api.md)')
    .setVersion('v1')
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, config);
  // Only the routes api.md lists: the UI and the JSON document.
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', raw: ['json'] });
}
