import { Controller, Get, Global, Module, Res, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PublicRoute } from '../admin/admin-auth.guard';
import { Metrics, PROMETHEUS_CONTENT_TYPE } from './metrics';

@PublicRoute()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  /** Prometheus text exposition. */
  @Get()
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.metrics.text();
    reply.header('content-type', PROMETHEUS_CONTENT_TYPE);
    return text;
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
