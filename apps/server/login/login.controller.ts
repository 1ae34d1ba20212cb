import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import { completeLoginAnswer, startLoginAnswer } from '@libs/contracts/answer-schemas';
import {
  completeLoginSchema,
  startLoginSchema,
  type CompleteLoginResponse,
  type StartLoginResponse,
} from '@libs/contracts/agent-api';
import { PublicRoute } from '../admin/admin-auth.guard';
import { ApiRoute } from '../http/openapi-route';
import { RequestInfo } from '../http/request-context';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';
import { LoginService } from './login.service';
import { VerificationGate } from '@libs/login';

/** The Agent API: no bearer token, the proofs are the credential. */
@PublicRoute()
@ApiTags('Agent API')
@Controller('v1/agent/login')
export class LoginController {
  private readonly gate: VerificationGate;

  constructor(
    private readonly logins: LoginService,
    @Inject(SETTINGS) settings: Settings,
  ) {
    this.gate = new VerificationGate(settings.rateLimit.concurrentLogins);
  }

  @Post()
  @HttpCode(200)
  @ApiRoute({
    summary: 'Start a login',
    description:
      'Finds the candidate policies: those whose required attestors are all among `providedMethods`. Answers the attestors they require, a challenge for each provided attestor that binds one, and a signed login ID valid for 5 minutes.',
    access: 'public',
    answer: startLoginAnswer,
    problems: [
      'invalid_request',
      'no_policy_for_methods',
      'payload_too_large',
      'unsupported_media_type',
      'rate_limited',
      'unavailable',
    ],
  })
  @ApiBody({ schema: startLoginSchema as object })
  start(@Body() body: unknown, @RequestInfo() request: RequestInfo): Promise<StartLoginResponse> {
    return this.logins.start(body, request);
  }

  @Post(':loginId/complete')
  @HttpCode(200)
  @ApiRoute({
    summary: 'Complete a login',
    description:
      'Presents a proof for each required attestor and a CSR. The proofs are verified, the policies tried in document order, and TOFU checked and recorded with the audit event; on success the answer holds the X.509-SVID, the trust bundle, the verified attributes and selectors. A login ID completes at most once.',
    access: 'public',
    answer: completeLoginAnswer,
    problems: [
      'invalid_request',
      'attestation_failed',
      'no_policy_for_methods',
      'policy_denied',
      'agent_banned',
      'login_not_found',
      'node_already_attested',
      'spiffe_id_in_use',
      'login_expired',
      'payload_too_large',
      'unsupported_media_type',
      'rate_limited',
      'unavailable',
    ],
  })
  @ApiBody({ schema: completeLoginSchema as object })
  complete(
    @Param('loginId') loginId: string,
    @Body() body: unknown,
    @RequestInfo() request: RequestInfo,
  ): Promise<CompleteLoginResponse> {
    return this.gate.run(() => this.logins.complete(loginId, body, request));
  }
}
