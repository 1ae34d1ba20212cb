import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AgentsRepository, UUID_KEY, type StatusChange } from '../../../libs/persistence';
import { ApiError } from '../http/api-error';
import { RequestInfo } from '../http/request-context';
import { attestorName, oneOf, pageCursor, pageLimit } from './list-query';

@ApiTags('Admin API')
@ApiBearerAuth()
@Controller('v1/agents')
export class AgentsController {
  constructor(private readonly agents: AgentsRepository) {}

  @Get()
  list(@Query('status') status?: string, @Query('attestor') attestor?: string, @Query('cursor') cursor?: string, @Query('limit') limit?: string) {
    const filterStatus = oneOf('status', status, ['active', 'evicted', 'banned'] as const);
    const filterAttestor = attestorName(attestor);
    const after = pageCursor(cursor, UUID_KEY);
    return this.agents.list({
      limit: pageLimit(limit),
      ...(filterStatus && { status: filterStatus }),
      ...(filterAttestor && { attestor: filterAttestor }),
      ...(after && { after }),
    });
  }

  @Get(':id')
  async show(@Param('id') id: string) {
    const agent = UUID_KEY.test(id) ? await this.agents.get(id) : null;
    if (!agent) throw new ApiError('not_found', `no agent ${id}`);
    return agent;
  }

  @Post(':id/evict')
  @HttpCode(200)
  evict(@Param('id') id: string, @RequestInfo() info: RequestInfo) {
    return this.change(id, 'evict', info);
  }

  @Post(':id/ban')
  @HttpCode(200)
  ban(@Param('id') id: string, @RequestInfo() info: RequestInfo) {
    return this.change(id, 'ban', info);
  }

  @Post(':id/unban')
  @HttpCode(200)
  unban(@Param('id') id: string, @RequestInfo() info: RequestInfo) {
    return this.change(id, 'unban', info);
  }

  private async change(id: string, change: StatusChange, info: RequestInfo) {
    if (!UUID_KEY.test(id)) throw new ApiError('not_found', `no agent ${id}`);
    const agent = await this.agents.changeStatus(id, change, info);
    if (agent) return agent;
    if (change === 'unban' && (await this.agents.get(id))) throw new ApiError('invalid_request', `agent ${id} is not banned`);
    throw new ApiError('not_found', `no agent ${id}`);
  }
}
