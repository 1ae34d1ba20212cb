import type { PrismaClient } from './generated/client';
import { CONFIG_CHANNEL, noticePayload } from './config-notifications';
import { isUniqueViolation } from './login-write';

export interface StoredConfigVersion {
  section: string;
  version: number;
  document: unknown;
  source: string;
  sha256: string;
  createdAt: Date;
  createdBy: string;
}

export interface NewConfigVersion {
  section: string;
  document: unknown;
  source: string;
  sha256: string;
  createdBy: string;
  requestId?: string;
}

/** Immutable, numbered versions of each configuration section. */
export class ConfigRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async latest(section: string): Promise<StoredConfigVersion | null> {
    return this.prisma.configVersion.findFirst({ where: { section }, orderBy: { version: 'desc' } });
  }

  async get(section: string, version: number): Promise<StoredConfigVersion | null> {
    return this.prisma.configVersion.findUnique({ where: { section_version: { section, version } } });
  }

  async versions(section: string): Promise<Omit<StoredConfigVersion, 'document' | 'source'>[]> {
    return this.prisma.configVersion.findMany({
      where: { section },
      orderBy: { version: 'asc' },
      select: { section: true, version: true, sha256: true, createdAt: true, createdBy: true },
    });
  }

  /** The newest version number of every section: what replicas poll to stay current. */
  async heads(): Promise<Map<string, number>> {
    const rows = await this.prisma.configVersion.groupBy({ by: ['section'], _max: { version: true } });
    return new Map(rows.map((row) => [row.section, row._max.version ?? 0]));
  }

  /**
   * Stores the content as the next version, audited in the same transaction;
   * content identical to the newest version is not stored again. Two
   * replicas pushing at once both land, one after the other. The NOTIFY to
   * other replicas is part of the transaction, so PostgreSQL delivers it
   * only once the version is committed and readable.
   */
  async push(next: NewConfigVersion): Promise<{ stored: StoredConfigVersion; created: boolean }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.prisma.$transaction(async (tx) => {
          const latest = await tx.configVersion.findFirst({ where: { section: next.section }, orderBy: { version: 'desc' } });
          if (latest && latest.sha256 === next.sha256) return { stored: latest, created: false };
          const stored = await tx.configVersion.create({
            data: {
              section: next.section,
              version: (latest?.version ?? 0) + 1,
              document: next.document as object,
              source: next.source,
              sha256: next.sha256,
              createdBy: next.createdBy,
            },
          });
          await tx.auditEvent.create({
            data: {
              event: 'config_change',
              outcome: 'success',
              attestors: [],
              reason: `${next.section} version ${stored.version} (sha256 ${next.sha256})`,
              actor: next.createdBy,
              requestId: next.requestId ?? null,
            },
          });
          await tx.$executeRaw`SELECT pg_notify(${CONFIG_CHANNEL}, ${noticePayload(stored)})`;
          return { stored, created: true };
        });
      } catch (error) {
        if (!isUniqueViolation(error) || attempt >= 5) throw error;
      }
    }
  }
}
