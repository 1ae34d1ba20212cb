import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { JwtSvidResponse, RenewResponse } from '@libs/contracts/agent-api';
import { Renewal, type RenewalObserver, type RequestContext } from '@libs/login';
import { AuditRepository, RenewalRepository } from '@libs/persistence';
import { VerifiedSvidCache } from '@libs/pki';
import { ActiveConfig } from '../config-documents/active-config';
import { IdentityService } from '../identity/identity.service';
import { LOGGER } from '../logging/logger';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';
import { INSTRUMENTS } from '../telemetry/instruments';
import { Metrics } from '../telemetry/metrics';

/** Renewals and JWT-SVIDs (libs/login) wired to the server's database, keys, metrics and log. */
@Injectable()
export class RenewalService {
  private readonly renewal: Renewal;

  constructor(
    identity: IdentityService,
    repository: RenewalRepository,
    audit: AuditRepository,
    active: ActiveConfig,
    metrics: Metrics,
    @Inject(LOGGER) logger: Logger,
    @Inject(SETTINGS) settings: Settings,
  ) {
    this.renewal = new Renewal({
      clock: identity,
      trustAnchors: identity,
      verifiedSvids: new VerifiedSvidCache(settings.svidCacheSize),
      // the CA that signs now, looked up at each renewal: it rotates
      issuer: {
        issueX509Svid: (request) => identity.ca.issueX509Svid(request),
        svidNotAfter: (now, ttlSeconds) => identity.ca.svidNotAfter(now, ttlSeconds),
        bundlePem: () => identity.bundlePem(),
      },
      jwtSigner: { sign: (claims, now) => identity.signJwtSvid(claims, now) },
      writes: repository,
      audit,
      activeConfig: active,
      observer: renewalObserver(metrics, logger),
    });
  }

  renew(body: unknown, request: RequestContext): Promise<RenewResponse> {
    return this.renewal.renew(body, request);
  }

  jwtSvid(body: unknown, request: RequestContext): Promise<JwtSvidResponse> {
    return this.renewal.jwtSvid(body, request);
  }
}

function renewalObserver(metrics: Metrics, logger: Logger): RenewalObserver {
  return {
    renewed: (renewal) => {
      metrics.count(INSTRUMENTS.svidsIssued, { kind: 'x509', reason: 'renew' });
      logger.info(renewal, 'SVID renewed');
    },
    jwtSvidIssued: (issue) => {
      metrics.count(INSTRUMENTS.svidsIssued, { kind: 'jwt', reason: 'mint' });
      logger.info(issue, 'JWT-SVID issued');
    },
  };
}
