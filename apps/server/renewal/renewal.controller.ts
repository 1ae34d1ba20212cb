import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiTags } from '@nestjs/swagger';
import { jwtSvidAnswer, renewAnswer } from '@libs/contracts/answer-schemas';
import { jwtSvidSchema, renewSchema, type JwtSvidResponse, type RenewResponse } from '@libs/contracts/agent-api';
import { PublicRoute } from '../admin/admin-auth.guard';
import { ApiRoute } from '../http/openapi-route';
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
  @ApiRoute({
    summary: 'Renew an X.509-SVID',
    description:
      "The current SVID, a new CSR, and a JWS by the SVID's key (`aud` `attestd-renew`, `iat` within 60 s, a fresh `jti`, `csr_sha256` the base64url SHA-256 of the CSR's DER). Answers a new SVID for the same SPIFFE ID while the agent is active.",
    access: 'public',
    answer: renewAnswer,
    problems: [
      'invalid_request',
      'invalid_proof_of_possession',
      'agent_banned',
      'agent_evicted',
      'payload_too_large',
      'unsupported_media_type',
      'rate_limited',
      'unavailable',
    ],
  })
  @ApiBody({ schema: renewSchema as object })
  renew(@Body() body: unknown, @RequestInfo() request: RequestInfo): Promise<RenewResponse> {
    return this.renewals.renew(body, request);
  }

  @Post('jwt-svid')
  @HttpCode(200)
  @ApiRoute({
    summary: 'Mint a JWT-SVID',
    description:
      "The current SVID and a JWS by its key (`aud` `attestd-jwt-svid`), and the audiences the token is for. Answers a short-lived JWT-SVID whose `sub` is the agent's SPIFFE ID and whose `iss` is `jwtIssuer`; relying parties verify it through OIDC discovery and `/keys`.",
    access: 'public',
    answer: jwtSvidAnswer,
    problems: [
      'invalid_request',
      'invalid_proof_of_possession',
      'agent_banned',
      'agent_evicted',
      'payload_too_large',
      'unsupported_media_type',
      'rate_limited',
      'unavailable',
    ],
  })
  @ApiBody({ schema: jwtSvidSchema as object })
  jwtSvid(@Body() body: unknown, @RequestInfo() request: RequestInfo): Promise<JwtSvidResponse> {
    return this.renewals.jwtSvid(body, request);
  }
}
