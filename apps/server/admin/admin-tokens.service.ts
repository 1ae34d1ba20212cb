import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { AdminTokensRepository, type AdminRole } from '../../../libs/persistence';
import { SETTINGS } from '../settings/settings.module';
import type { Settings } from '../settings/settings';
import { newSecretToken } from './secret-token';

interface KnownToken {
  hash: Buffer;
  role: AdminRole;
}

export interface Caller {
  role: AdminRole;
  /** for the audit log: which token, never the token itself */
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
export class AdminTokensService implements OnModuleInit {
  private known: KnownToken[] = [];
  /** set when this start generated the first admin token; main prints it once */
  generatedToken: string | undefined;

  constructor(
    private readonly tokens: AdminTokensRepository,
    @Inject(SETTINGS) private readonly settings: Settings,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.settings.adminTokens.length === 0 && this.settings.database.kind === 'pglite' && (await this.tokens.count()) === 0) {
      this.generatedToken = newSecretToken();
      await this.tokens.add({ id: randomUUID(), tokenHash: hashAdminToken(this.generatedToken).toString('hex'), role: 'admin' });
    }
    const stored = await this.tokens.all();
    this.known = [
      ...this.settings.adminTokens.map((t) => ({ hash: hashAdminToken(t.token), role: t.role })),
      ...stored.map((t) => ({ hash: Buffer.from(t.tokenHash, 'hex'), role: t.role })),
    ];
  }

  /** Compares against every known hash in constant time; undefined when none matches. */
  authenticate(token: string): Caller | undefined {
    const presented = hashAdminToken(token);
    let match: KnownToken | undefined;
    for (const known of this.known) {
      if (timingSafeEqual(known.hash, presented) && !match) match = known;
    }
    return match && { role: match.role, actor: `${match.role}:${match.hash.toString('hex').slice(0, 12)}` };
  }
}
