import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthenticatedRequest } from '../admin/admin-auth.guard';

export interface RequestInfo {
  requestId: string;
  sourceIp: string;
  /** the admin token's actor name, on authenticated routes */
  actor: string;
}

/** What services need to know of a request, without Fastify types leaking into them. */
export const RequestInfo = createParamDecorator((_data: unknown, context: ExecutionContext): RequestInfo => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest & FastifyRequest>();
  return { requestId: String(request.id), sourceIp: request.ip, actor: request.caller?.actor ?? 'anonymous' };
});
