import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { jwtSvidSchema, renewSchema, type JwtSvidResponse, type RenewResponse } from '../../../libs/contracts/agent-api';
import { PublicRoute } from '../admin/admin-auth.guard';
import { RequestInfo } from '../http/request-context';
import { RenewalService } from './renewal.service';

/** The Agent API for attested agents: the current SVID and a proof of possession are the credential. */
@PublicRoute()
@ApiTags('Agent API')
@Controller('v1/agent')
export class RenewalController {
  constructor(private readonly renewals: RenewalService) {}

  @Post('renew')
  @HttpCode(200)
  @ApiOperation({ summary: 'Renew an X.509-SVID: the current SVID, a new CSR and a JWS by the SVID key over the CSR hash' })
  @ApiBody({ schema: renewSchema as object })
  renew(@Body() body: unknown, @RequestInfo() request: RequestInfo): Promise<RenewResponse> {
    return this.renewals.renew(body, request);
  }

  @Post('jwt-svid')
  @HttpCode(200)
  @ApiOperation({ summary: 'Mint a short-lived JWT-SVID for the agent\'s SPIFFE ID and the requested audiences' })
  @ApiBody({ schema: jwtSvidSchema as object })
  jwtSvid(@Body() body: unknown, @RequestInfo() request: RequestInfo): Promise<JwtSvidResponse> {
    return this.renewals.jwtSvid(body, request);
  }
}
