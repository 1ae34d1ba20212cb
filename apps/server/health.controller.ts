import { Controller, Get, Inject } from '@nestjs/common';
import type { Database } from '@libs/persistence';
import { ApiTags } from '@nestjs/swagger';
import { healthAnswer } from '@libs/contracts/answer-schemas';
import { PublicRoute } from './admin/admin-auth.guard';
import { ApiRoute } from './http/openapi-route';
import { DATABASE } from './database/database.module';
import { ApiError } from '@libs/contracts/api-error';

@PublicRoute()
@ApiTags('Open endpoints')
@Controller()
export class HealthController {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  /** The process is alive. */
  @Get('healthz')
  @ApiRoute({
    summary: 'Liveness',
    description: 'The process is alive; it does not touch the database.',
    access: 'public',
    answer: healthAnswer('ok'),
  })
  healthz() {
    return { status: 'ok' };
  }

  /** Ready to serve logins: the database answers (configuration loads before the server listens). */
  @Get('readyz')
  @ApiRoute({
    summary: 'Readiness',
    description: 'Ready to serve logins: the database answers. Configuration is loaded before the server listens.',
    access: 'public',
    answer: healthAnswer('ready'),
    problems: ['unavailable'],
  })
  async readyz() {
    try {
      await this.db.prisma.$queryRaw`SELECT 1`;
    } catch {
      throw new ApiError('unavailable', 'database is unreachable');
    }
    return { status: 'ready' };
  }
}
