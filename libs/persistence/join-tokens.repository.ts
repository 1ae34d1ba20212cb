import type { PrismaClient } from './generated/client';

export class JoinTokensRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Stores only the hash; audited in the same transaction. */
  async create(token: {
    id: string;
    tokenHash: string;
    expiresAt: Date;
    createdBy: string;
    requestId?: string;
  }): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.joinToken.create({
        data: { id: token.id, tokenHash: token.tokenHash, expiresAt: token.expiresAt, createdBy: token.createdBy },
      }),
      this.prisma.auditEvent.create({
        data: {
          event: 'join_token_created',
          outcome: 'success',
          attestors: ['join_token'],
          attributes: { 'join_token.id': [token.id] },
          actor: token.createdBy,
          requestId: token.requestId ?? null,
        },
      }),
    ]);
  }

  async findUsable(tokenHash: string, now: Date): Promise<{ id: string } | null> {
    return this.prisma.joinToken.findFirst({
      where: { tokenHash, usedAt: null, expiresAt: { gt: now } },
      select: { id: true },
    });
  }
}
