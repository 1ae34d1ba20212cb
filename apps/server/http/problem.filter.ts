import { Catch, HttpException, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { PROBLEMS, problemTypeUri, type Problem, type ProblemCode } from '@libs/contracts/problem';
import { isDatabaseUnavailable } from '@libs/persistence';
import { ApiError } from '@libs/contracts/api-error';
import { LOGGER } from '../logging/logger';

/**
 * The one place errors become HTTP answers (STYLE 7): domain errors map by
 * code, framework errors (bad JSON, body too large, unknown route, the rate
 * limit, the router's URL errors) by kind, and anything else is a 500 with
 * the request id, logged as the bug it is.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.answer(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }

  /**
   * URL errors the router raises before any route, and so before Nest
   * (Fastify's `frameworkErrors`): a path parameter too long (414) names no
   * resource; anything else is a malformed URL.
   */
  answerRouterError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    const answer =
      error.statusCode === 414
        ? new ApiError('not_found', 'no such resource (path parameter too long)')
        : new ApiError('invalid_request', 'malformed URL');
    this.answer(answer, request, reply);
  }

  private answer(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const error = this.toApiError(exception, request);
    const { status, title } = PROBLEMS[error.code];
    const problem: Problem = {
      type: problemTypeUri(error.code),
      title,
      status,
      code: error.code,
      detail: error.detail,
      requestId: String(request.id),
      ...(error.errors && error.errors.length > 0 && { errors: error.errors }),
    };
    void reply
      .status(status)
      .headers({ 'content-type': 'application/problem+json', ...error.headers })
      // A Buffer, so Fastify keeps the media type exactly `application/problem+json`.
      .send(Buffer.from(JSON.stringify(problem), 'utf8'));
  }

  private toApiError(exception: unknown, request: FastifyRequest): ApiError {
    if (exception instanceof ApiError) return exception;
    const frameworkCode = fromFramework(exception);
    if (frameworkCode) return frameworkCode;
    if (isDatabaseUnavailable(exception)) {
      this.logger.error({ err: exception, requestId: request.id }, 'database unreachable');
      return new ApiError('unavailable', 'the database is unreachable; nothing was recorded, retry later');
    }
    this.logger.error(
      { err: exception, requestId: request.id, method: request.method, url: request.url },
      'unhandled error',
    );
    return new ApiError('internal_error', `internal error; quote request id ${String(request.id)} when reporting it`);
  }
}

function fromFramework(exception: unknown): ApiError | undefined {
  const status =
    exception instanceof HttpException ? exception.getStatus() : (exception as { statusCode?: number })?.statusCode;
  const fastifyCode = (exception as { code?: string })?.code ?? '';
  if (status === 413 || fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new ApiError('payload_too_large', 'request body is too large');
  if (status === 415 || fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return new ApiError(
      'unsupported_media_type',
      'send application/json (or application/yaml for configuration documents)',
    );
  }
  if (status === 429) return new ApiError('rate_limited', (exception as Error).message || 'too many requests');
  if (status === 404) return new ApiError('not_found', 'no such resource');
  if (status === 405) return new ApiError('not_found', 'no such method on this resource');
  if (status !== undefined && status >= 400 && status < 500) {
    return new ApiError(
      'invalid_request',
      exception instanceof SyntaxError || /JSON/i.test(String((exception as Error).message))
        ? 'body is not valid JSON'
        : 'malformed request',
    );
  }
  return undefined;
}

export const ALL_PROBLEM_CODES = Object.keys(PROBLEMS) as ProblemCode[];
