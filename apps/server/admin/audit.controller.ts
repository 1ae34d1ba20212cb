import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuditRepository, AUDIT_KEY, UUID_KEY } from '../../../libs/persistence';
import { ApiError } from '../http/api-error';
import { attestorName, oneOf, pageCursor, pageLimit, timestamp } from './list-query';

@ApiTags('Admin API')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditRepository) {}

  /** Newest first, filtered as `api.md` lists. */
  @Get()
  list(
    @Query('outcome') outcome?: string,
    @Query('attestor') attestor?: string,
    @Query('agentId') agentId?: string,
    @Query('since') since?: string,
    @Query('until') until?: string,
    @Query('cursor') cursor?: string,
    @Query('limit') limit?: string,
  ) {
    if (agentId !== undefined && !UUID_KEY.test(agentId)) throw new ApiError('invalid_request', 'agentId must be a UUID', [{ path: 'agentId', message: 'must be a UUID' }]);
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
