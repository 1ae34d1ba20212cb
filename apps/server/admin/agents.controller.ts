import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { agentAnswer, page } from '@libs/contracts/answer-schemas';
import { AgentsRepository, UUID_KEY, type StatusChange } from '@libs/persistence';
import { ApiError } from '@libs/contracts/api-error';
import { ApiRoute } from '../http/openapi-route';
import { RequestInfo } from '../http/request-context';
import { attestorName, oneOf, pageCursor, pageLimit } from './list-query';

@ApiTags('Admin API')
@Controller('v1/agents')
export class AgentsController {
  constructor(private readonly agents: AgentsRepository) {}

  @Get()
  @ApiRoute({
    summary: 'List agents',
    description:
      'Agents by first attestation, a page at a time; filter by status or by an attestor they logged in with.',
    access: 'viewer',
    answer: page(agentAnswer),
    problems: ['invalid_request'],
    query: {
      status: { description: 'only agents in this status', schema: { enum: ['active', 'evicted', 'banned'] } },
      attestor: {
        description: 'only agents that logged in with this attestor (e.g. `aws_iid`)',
        schema: { type: 'string' },
      },
      cursor: { description: 'the `nextCursor` of the previous page', schema: { type: 'string' } },
      limit: {
        description: 'items per page (1 to 500, default 100)',
        schema: { type: 'integer', minimum: 1, maximum: 500 },
      },
    },
  })
  list(
    @Query('status') status?: string,
    @Query('attestor') attestor?: string,
    @Query('cursor') cursor?: string,
    @Query('limit') limit?: string,
  ) {
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
  @ApiRoute({
    summary: 'Show one agent',
    description:
      'An agent with its SPIFFE ID, attestors, TOFU keys, status, policy, attributes, selectors and current SVID.',
    access: 'viewer',
    answer: agentAnswer,
    problems: ['not_found'],
  })
  async show(@Param('id') id: string) {
    const agent = UUID_KEY.test(id) ? await this.agents.get(id) : null;
    if (!agent) throw new ApiError('not_found', `no agent ${id}`);
    return agent;
  }

  @Post(':id/evict')
  @HttpCode(200)
  @ApiRoute({
    summary: 'Evict an agent',
    description:
      'Frees its TOFU keys so that the node may attest again; its SVID can no longer renew or mint JWT-SVIDs. Audited.',
    access: 'admin',
    answer: agentAnswer,
    answerDescription: 'the agent as it is now',
    problems: ['not_found'],
  })
  evict(@Param('id') id: string, @RequestInfo() info: RequestInfo) {
    return this.change(id, 'evict', info);
  }

  @Post(':id/ban')
  @HttpCode(200)
  @ApiRoute({
    summary: 'Ban an agent',
    description:
      'The node may not attest again, with any proof carrying its TOFU keys, until it is unbanned; its SVID can no longer renew. Audited.',
    access: 'admin',
    answer: agentAnswer,
    answerDescription: 'the agent as it is now',
    problems: ['not_found'],
  })
  ban(@Param('id') id: string, @RequestInfo() info: RequestInfo) {
    return this.change(id, 'ban', info);
  }

  @Post(':id/unban')
  @HttpCode(200)
  @ApiRoute({
    summary: 'Unban an agent',
    description:
      'Lifts a ban: the agent is evicted, so the node may attest again. Audited. 400 when the agent is not banned.',
    access: 'admin',
    answer: agentAnswer,
    answerDescription: 'the agent as it is now',
    problems: ['invalid_request', 'not_found'],
  })
  unban(@Param('id') id: string, @RequestInfo() info: RequestInfo) {
    return this.change(id, 'unban', info);
  }

  private async change(id: string, change: StatusChange, info: RequestInfo) {
    if (!UUID_KEY.test(id)) throw new ApiError('not_found', `no agent ${id}`);
    const agent = await this.agents.changeStatus(id, change, info);
    if (agent) return agent;
    if (change === 'unban' && (await this.agents.get(id)))
      throw new ApiError('invalid_request', `agent ${id} is not banned`);
    throw new ApiError('not_found', `no agent ${id}`);
  }
}
