import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SectionName } from '@libs/policy';
import {
  pushedVersionAnswer,
  simulationAnswer,
  storedVersionAnswer,
  validationAnswer,
  versionHistoryAnswer,
} from '@libs/contracts/answer-schemas';
import { ViewerRoute } from '../admin/admin-auth.guard';
import { ApiError } from '@libs/contracts/api-error';
import { bodyChecker } from '@libs/contracts/request-body';
import { ApiDocumentBody, ApiRoute } from '../http/openapi-route';
import { RequestInfo } from '../http/request-context';
import { timestamp } from '../admin/list-query';
import { isSection, SECTIONS } from './active-config';
import { ConfigDocumentsService, summary } from './config-documents.service';
import { SimulationService, simulationLimit } from './simulation.service';

const ROLLBACK_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['version'],
  // the same bound as GET ?version=: larger numbers do not fit the column
  properties: { version: { type: 'integer', minimum: 1, maximum: 999_999_999 } },
};
const checkRollback = bodyChecker<{ version: number }>(ROLLBACK_SCHEMA);

/** `PUT/GET /v1/config/{section}` and friends (`api.md`, Admin API). */
@ApiTags('Admin API')
@ApiParam({ name: 'section', enum: SECTIONS, description: 'the configuration section' })
@Controller('v1/config/:section')
export class ConfigDocumentsController {
  constructor(
    private readonly documents: ConfigDocumentsService,
    private readonly simulation: SimulationService,
  ) {}

  @Put()
  @ApiRoute({
    summary: 'Push a configuration document',
    description:
      'Validates the document, stores it as a new version and activates it on every replica without a restart. Content equal to the current version returns that version. Audited.',
    access: 'admin',
    answer: pushedVersionAnswer,
    problems: [
      'invalid_request',
      'not_found',
      'payload_too_large',
      'unsupported_media_type',
      'invalid_config',
      'rate_limited',
      'unavailable',
    ],
  })
  @ApiDocumentBody()
  push(@Param('section') section: string, @Req() request: FastifyRequest, @RequestInfo() info: RequestInfo) {
    const { text, contentType } = documentBody(request);
    return this.documents.push(sectionName(section), text, contentType, info.actor, info.requestId);
  }

  @Get()
  @ApiRoute({
    summary: 'Show a configuration version',
    description:
      'The current version of the section (or `?version=N`), as JSON with its metadata, or as the YAML text it was pushed as when the request accepts `application/yaml`.',
    access: 'viewer',
    answer: {
      content: {
        'application/json': { schema: storedVersionAnswer },
        'application/yaml': { schema: { type: 'string' } },
      },
    },
    problems: ['invalid_request', 'not_found'],
    query: {
      version: {
        description: 'a stored version number (default: the current one)',
        schema: { type: 'integer', minimum: 1 },
      },
    },
  })
  async get(
    @Param('section') section: string,
    @Query('version') version: string | undefined,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const stored = await this.documents.get(
      sectionName(section),
      version === undefined ? undefined : versionNumber(version),
    );
    if (accept && /\b(application|text)\/(x-)?yaml\b/.test(accept)) {
      void reply.header('content-type', 'application/yaml; charset=utf-8');
      return stored.source;
    }
    return { ...summary(stored), createdBy: stored.createdBy, document: stored.document };
  }

  @Get('versions')
  @ApiRoute({
    summary: 'List configuration versions',
    description: 'Every stored version of the section, oldest first, with its hash, time and author.',
    access: 'viewer',
    answer: versionHistoryAnswer,
    problems: ['not_found'],
  })
  async versions(@Param('section') section: string) {
    const items = await this.documents.history(sectionName(section));
    return {
      items: items.map((v) => ({
        version: v.version,
        sha256: v.sha256,
        createdAt: v.createdAt.toISOString(),
        createdBy: v.createdBy,
      })),
    };
  }

  @Post('validate')
  @ApiRoute({
    summary: 'Validate a configuration document',
    description:
      'A dry run: the document is checked as a push checks it, and nothing is stored. Viewer tokens may call it.',
    access: 'viewer',
    answer: validationAnswer,
    problems: [
      'invalid_request',
      'not_found',
      'payload_too_large',
      'unsupported_media_type',
      'invalid_config',
      'rate_limited',
      'unavailable',
    ],
  })
  @ApiDocumentBody()
  @ViewerRoute()
  @HttpCode(200)
  async validate(@Param('section') section: string, @Req() request: FastifyRequest) {
    const { text, contentType } = documentBody(request);
    return this.documents.validate(sectionName(section), text, contentType);
  }

  @Post('simulate')
  @ViewerRoute()
  @HttpCode(200)
  @ApiRoute({
    summary: 'Simulate a policy change',
    description:
      'Replays the recorded attributes of recent login attempts against a candidate `AgentAttestation` document and lists who would newly be allowed or denied, or allowed under another policy or SPIFFE ID. Nothing is stored. Other sections answer 400. Viewer tokens may call it.',
    access: 'viewer',
    answer: simulationAnswer,
    problems: [
      'invalid_request',
      'not_found',
      'payload_too_large',
      'unsupported_media_type',
      'invalid_config',
      'rate_limited',
      'unavailable',
    ],
    query: {
      limit: {
        description: 'how many recent login attempts (1 to 10000, default 1000)',
        schema: { type: 'integer', minimum: 1, maximum: 10000 },
      },
      since: {
        description: 'RFC 3339 time: only attempts at or after it',
        schema: { type: 'string', format: 'date-time' },
      },
    },
  })
  @ApiDocumentBody()
  async simulate(
    @Param('section') section: string,
    @Query('limit') limit: string | undefined,
    @Query('since') since: string | undefined,
    @Req() request: FastifyRequest,
  ) {
    const { text, contentType } = documentBody(request);
    // the query is checked before the document costs the worker anything
    const from = timestamp('since', since);
    const window = { limit: simulationLimit(limit), ...(from && { since: from }) };
    const checked = await this.documents.validateOrThrow(sectionName(section), text, contentType);
    return this.simulation.simulate(checked.document, window);
  }

  @Post('rollback')
  @ApiRoute({
    summary: 'Roll back to a stored version',
    description: 'Stores a new version with the content of an earlier one and activates it everywhere. Audited.',
    access: 'admin',
    answer: pushedVersionAnswer,
    problems: ['invalid_request', 'not_found', 'unsupported_media_type', 'rate_limited', 'unavailable'],
  })
  @ApiBody({ schema: ROLLBACK_SCHEMA })
  @HttpCode(200)
  rollback(@Param('section') section: string, @Body() body: unknown, @RequestInfo() info: RequestInfo) {
    return this.documents.rollback(sectionName(section), checkRollback(body).version, info.actor, info.requestId);
  }
}

function sectionName(section: string): SectionName {
  if (!isSection(section))
    throw new ApiError('not_found', `unknown section ${section}; sections are ${SECTIONS.join(', ')}`);
  return section;
}

function versionNumber(text: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text))
    throw new ApiError('invalid_request', 'version must be a positive integer', [
      { path: 'version', message: 'must be a positive integer' },
    ]);
  return Number(text);
}

/** The document exactly as sent: YAML text, or the raw JSON (kept for line numbers and history). */
function documentBody(request: FastifyRequest & { rawBody?: Buffer }): { text: string; contentType: 'yaml' | 'json' } {
  const type = String(request.headers['content-type'] ?? '');
  if (/json/.test(type))
    return { text: request.rawBody?.toString('utf8') ?? JSON.stringify(request.body), contentType: 'json' };
  if (typeof request.body === 'string') return { text: request.body, contentType: 'yaml' };
  throw new ApiError('unsupported_media_type', 'send the document as application/yaml or application/json');
}
