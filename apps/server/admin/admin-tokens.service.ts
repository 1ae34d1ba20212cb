import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { AdminTokensRepository, type AdminRole } from '@libs/persistence';
import { IdentityService } from '../identity/identity.service';
import { LOGGER } from '../logging/logger';
import { SETTINGS } from '../settings/settings.module';
import { envName, type Settings } from '../settings/settings';
import { newSecretToken } from './secret-token';

interface KnownToken {
  hash: Buffer;
  role: AdminRole;
  /** where it comes from, for the start-up log: `adminTokens[0]` or `stored` */
  source: string;
  /** `admin:token-<16 hex>`, made once the identity keys are loaded */
  actor?: string;
}

export interface Caller {
  role: AdminRole;
  /** for the audit log and `createdBy`: which token (`admin:token-3f9c…`), never the token or its hash */
  actor: string;
}

/** Admin tokens are 32 random bytes, so an unsalted SHA-256 is a safe store. */
export function hashAdminToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Bearer tokens for the admin API: from settings, plus the one generated at
 * the first start of an embedded-database server (printed once, as a
 * development server prints its root token; only its hash is stored).
 */
@Injectable()
export class AdminTokensService implements OnModuleInit, OnApplicationBootstrap {
  private known: KnownToken[] = [];
  /** set when this start generated the first admin token; main prints it once */
  generatedToken: string | undefined;

  constructor(
    private readonly tokens: AdminTokensRepository,
    private readonly identity: IdentityService,
    @Inject(SETTINGS) private readonly settings: Settings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    if (
      this.settings.adminTokens.length === 0 &&
      this.settings.database.kind === 'pglite' &&
      (await this.tokens.count()) === 0
    ) {
      this.generatedToken = newSecretToken();
      await this.tokens.add({
        id: randomUUID(),
        tokenHash: hashAdminToken(this.generatedToken).toString('hex'),
        role: 'admin',
      });
    }
    const stored = await this.tokens.all();
    this.known = [
      ...this.settings.adminTokens.map((t, i) => ({
        hash: hashAdminToken(t.token),
        role: t.role,
        source: `adminTokens[${i}]`,
      })),
      ...stored.map((t) => ({ hash: Buffer.from(t.tokenHash, 'hex'), role: t.role, source: 'stored' })),
    ];
  }

  /** Names every token once the identity keys are loaded, and logs the names so an operator can tell whose is whose in the audit log. */
  onApplicationBootstrap(): void {
    for (const token of this.known) token.actor = `${token.role}:token-${this.identity.adminActorId(token.hash)}`;
    this.logger.info({ tokens: this.known.map((t) => ({ source: t.source, actor: t.actor })) }, 'admin: tokens loaded');
    if (!this.known.some((t) => t.role === 'admin')) {
      // On PostgreSQL none is generated: without this line the first sign of it is a 401 from attestctl.
      this.logger.warn(
        { setting: 'adminTokens', variable: envName('adminTokens') },
        `admin: no admin token, so nobody can change the configuration or manage agents; set ${envName('adminTokens')} to one or more tokens of 16+ characters (make one with: openssl rand -base64 32) and restart`,
      );
    }
  }

  /** Compares against every known hash in constant time; undefined when none matches. */
  authenticate(token: string): Caller | undefined {
    const presented = hashAdminToken(token);
    let match: KnownToken | undefined;
    for (const known of this.known) {
      if (timingSafeEqual(known.hash, presented) && !match) match = known;
    }
    return (
      match && {
        role: match.role,
        actor: match.actor ?? `${match.role}:token-${this.identity.adminActorId(match.hash)}`,
      }
    );
  }
}
