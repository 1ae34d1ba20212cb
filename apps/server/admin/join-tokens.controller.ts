import { randomUUID } from 'node:crypto';
import { Body, Controller, Post } from '@nestjs/common';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import { joinTokenAnswer } from '@libs/contracts/answer-schemas';
import { hashJoinToken } from '@libs/attestors/join-token/join-token.attestor';
import { JoinTokensRepository } from '@libs/persistence';
import { bodyChecker } from '@libs/contracts/request-body';
import { ApiRoute } from '../http/openapi-route';
import { RequestInfo } from '../http/request-context';
import { newSecretToken } from './secret-token';

const CREATE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { ttlSeconds: { type: 'integer', minimum: 60, maximum: 30 * 24 * 3600 } },
};
const checkCreate = bodyChecker<{ ttlSeconds?: number }>(CREATE_SCHEMA);

const DEFAULT_TTL_SECONDS = 3600;

@ApiTags('Admin API')
@Controller('v1/join-tokens')
export class JoinTokensController {
  constructor(private readonly tokens: JoinTokensRepository) {}

  /** The secret is in this answer only; the server keeps its hash. */
  @Post()
  @ApiRoute({
    summary: 'Create a join token',
    description:
      'A single-use secret for the `join_token` attestor, valid for `ttlSeconds` (60 s to 30 days, default 1 hour). The secret is in this answer only; the server keeps its hash. Audited.',
    access: 'admin',
    answer: joinTokenAnswer,
    problems: ['invalid_request', 'unsupported_media_type'],
  })
  @ApiBody({ schema: CREATE_SCHEMA })
  async create(@Body() body: unknown, @RequestInfo() info: RequestInfo) {
    const { ttlSeconds = DEFAULT_TTL_SECONDS } = checkCreate(body ?? {});
    const id = randomUUID();
    const token = newSecretToken();
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    await this.tokens.create({
      id,
      tokenHash: hashJoinToken(token),
      expiresAt,
      createdBy: info.actor,
      requestId: info.requestId,
    });
    return { id, token, expiresAt: expiresAt.toISOString() };
  }
}
