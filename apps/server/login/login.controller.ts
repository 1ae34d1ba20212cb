import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { completeLoginSchema, startLoginSchema, type CompleteLoginResponse, type StartLoginResponse } from '../../../libs/contracts/agent-api';
import { PublicRoute } from '../admin/admin-auth.guard';
import { RequestInfo } from '../http/request-context';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';
import { LoginService } from './login.service';
import { VerificationGate } from './verification-gate';

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
  @ApiOperation({ summary: 'Start a login: the candidate policies for the provided attestors, challenges and a signed login ID' })
  @ApiBody({ schema: startLoginSchema as object })
  start(@Body() body: unknown, @RequestInfo() request: RequestInfo): Promise<StartLoginResponse> {
    return this.logins.start(body, request);
  }

  @Post(':loginId/complete')
  @HttpCode(200)
  @ApiOperation({ summary: 'Present proofs and a CSR; on success an X.509-SVID and the trust bundle' })
  @ApiBody({ schema: completeLoginSchema as object })
  complete(@Param('loginId') loginId: string, @Body() body: unknown, @RequestInfo() request: RequestInfo): Promise<CompleteLoginResponse> {
    return this.gate.run(() => this.logins.complete(loginId, body, request));
  }
}
