import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '@libs/contracts/api-error';
import { AdminTokensService, type Caller } from './admin-tokens.service';

const ACCESS = 'attestd:access';
type Access = 'public' | 'viewer' | 'admin';

/** Agent, open and health endpoints: the only routes answered without a token. */
export const PublicRoute = () => SetMetadata(ACCESS, 'public' satisfies Access);
/** A POST that only reads (validate, simulate): viewers may call it. */
export const ViewerRoute = () => SetMetadata(ACCESS, 'viewer' satisfies Access);

export type AuthenticatedRequest = FastifyRequest & { caller?: Caller };

/**
 * Global and default-deny: a route is public only when it says so; reads
 * need a viewer or admin token, writes an admin token.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AdminTokensService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const declared = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (declared === 'public') return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
    const caller = match ? this.tokens.authenticate(match[1]!) : undefined;
    if (!caller) throw new ApiError('unauthenticated', 'a valid admin bearer token is required');
    const needed: Access = declared ?? (request.method === 'GET' || request.method === 'HEAD' ? 'viewer' : 'admin');
    if (needed === 'admin' && caller.role !== 'admin')
      throw new ApiError('forbidden', 'this action needs an admin token; a viewer token may only read');
    request.caller = caller;
    return true;
  }
}
