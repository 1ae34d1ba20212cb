import { Controller, Get, Global, Module, Req, Res, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PublicRoute } from '../admin/admin-auth.guard';
import { Metrics } from './metrics';

@PublicRoute()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  /** Prometheus text exposition. */
  @Get()
  scrape(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    reply.hijack();
    this.metrics.scrape(request.raw, reply.raw);
  }
}

@Global()
@Module({
  controllers: [MetricsController],
  providers: [{ provide: Metrics, useFactory: () => new Metrics() }],
  exports: [Metrics],
})
export class TelemetryModule implements OnApplicationShutdown {
  constructor(private readonly metrics: Metrics) {}

  async onApplicationShutdown(): Promise<void> {
    await this.metrics.shutdown();
  }
}
