import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { auditEventAnswer, page } from '@libs/contracts/answer-schemas';
import { AuditRepository, AUDIT_KEY, UUID_KEY } from '@libs/persistence';
import { ApiError } from '@libs/contracts/api-error';
import { ApiRoute } from '../http/openapi-route';
import { attestorName, oneOf, pageCursor, pageLimit, timestamp } from './list-query';

@ApiTags('Admin API')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditRepository) {}

  /** Newest first, filtered as `api.md` lists. */
  @Get()
  @ApiRoute({
    summary: 'List audit events',
    description:
      'Logins, renewals, JWT-SVID mints, agent status changes, configuration changes and join tokens, newest first, a page at a time.',
    access: 'viewer',
    answer: page(auditEventAnswer),
    problems: ['invalid_request'],
    query: {
      outcome: { description: 'only successes or only failures', schema: { enum: ['success', 'failure'] } },
      attestor: { description: 'only events of logins with this attestor', schema: { type: 'string' } },
      agentId: { description: 'only events of this agent', schema: { type: 'string', format: 'uuid' } },
      since: { description: 'RFC 3339 time: events at or after it', schema: { type: 'string', format: 'date-time' } },
      until: { description: 'RFC 3339 time: events before it', schema: { type: 'string', format: 'date-time' } },
      cursor: { description: 'the `nextCursor` of the previous page', schema: { type: 'string' } },
      limit: {
        description: 'items per page (1 to 500, default 100)',
        schema: { type: 'integer', minimum: 1, maximum: 500 },
      },
    },
  })
  list(
    @Query('outcome') outcome?: string,
    @Query('attestor') attestor?: string,
    @Query('agentId') agentId?: string,
    @Query('since') since?: string,
    @Query('until') until?: string,
    @Query('cursor') cursor?: string,
    @Query('limit') limit?: string,
  ) {
    if (agentId !== undefined && !UUID_KEY.test(agentId))
      throw new ApiError('invalid_request', 'agentId must be a UUID', [{ path: 'agentId', message: 'must be a UUID' }]);
    const filterOutcome = oneOf('outcome', outcome, ['success', 'failure'] as const);
    const filterAttestor = attestorName(attestor);
    const from = timestamp('since', since);
    const to = timestamp('until', until);
    const after = pageCursor(cursor, AUDIT_KEY);
    return this.audit.list({
      limit: pageLimit(limit),
      ...(filterOutcome && { outcome: filterOutcome }),
      ...(filterAttestor && { attestor: filterAttestor }),
      ...(agentId && { agentId }),
      ...(from && { since: from }),
      ...(to && { until: to }),
      ...(after && { after }),
    });
  }
}
