import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { CompleteLoginResponse, StartLoginResponse } from '@libs/contracts/agent-api';
import { AttestorRegistry } from '@libs/attestors/registry';
import { Login, type RequestContext } from '@libs/login';
import {
  AuditRepository,
  isDatabaseUnavailable,
  LoginWriteBatcher,
  recordLoginFailure,
  type Database,
} from '@libs/persistence';
import { ActiveConfig } from '../config-documents/active-config';
import { DATABASE } from '../database/database.module';
import { IdentityService } from '../identity/identity.service';
import { LOGGER } from '../logging/logger';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';
import { Metrics } from '../telemetry/metrics';
import { loginObserver } from './login-observer';

/** The login protocol (libs/login) wired to the server's database, keys, metrics and log. */
@Injectable()
export class LoginService {
  private readonly login: Login;

  constructor(
    registry: AttestorRegistry,
    active: ActiveConfig,
    identity: IdentityService,
    audit: AuditRepository,
    @Inject(DATABASE) db: Database,
    @Inject(SETTINGS) settings: Settings,
    @Inject(LOGGER) logger: Logger,
    metrics: Metrics,
  ) {
    // concurrent completions share a transaction (group commit; login-batch.ts)
    const batcher = new LoginWriteBatcher(db);
    this.login = new Login({
      registry,
      activeConfig: active,
      loginIds: identity.loginIds,
      // the CA that signs now, looked up at each login: it rotates
      issuer: {
        issueX509Svid: (request) => identity.ca.issueX509Svid(request),
        svidNotAfter: (now, ttlSeconds) => identity.ca.svidNotAfter(now, ttlSeconds),
        bundlePem: () => identity.ca.bundlePem(),
      },
      writes: {
        write: (login) => batcher.write(login),
        recordFailure: (failure) => recordLoginFailure(db, failure),
        isUnavailable: isDatabaseUnavailable,
      },
      audit,
      clock: { now: () => new Date() },
      observer: loginObserver(metrics, logger),
      trustDomain: settings.trustDomain,
    });
  }

  start(body: unknown, request: RequestContext): Promise<StartLoginResponse> {
    return this.login.start(body, request);
  }

  complete(loginId: string, body: unknown, request: RequestContext): Promise<CompleteLoginResponse> {
    return this.login.complete(loginId, body, request);
  }
}
