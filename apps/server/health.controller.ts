import { Controller, Get, Inject } from '@nestjs/common';
import type { Database } from '../../libs/persistence';
import { PublicRoute } from './admin/admin-auth.guard';
import { DATABASE } from './database/database.module';
import { ApiError } from './http/api-error';

@PublicRoute()
@Controller()
export class HealthController {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  /** The process is alive. */
  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  /** Ready to serve logins: the database answers (configuration loads before the server listens). */
  @Get('readyz')
  async readyz() {
    try {
      await this.db.prisma.$queryRaw`SELECT 1`;
    } catch {
      throw new ApiError('unavailable', 'database is unreachable');
    }
    return { status: 'ready' };
  }
}
