import type { PrismaClient } from './generated/client';

export type AdminRole = 'admin' | 'viewer';

export class AdminTokensRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async all(): Promise<{ tokenHash: string; role: AdminRole }[]> {
    const rows = await this.prisma.adminToken.findMany({ select: { tokenHash: true, role: true } });
    return rows.map((row) => ({ tokenHash: row.tokenHash, role: row.role as AdminRole }));
  }

  async count(): Promise<number> {
    return this.prisma.adminToken.count();
  }

  async add(token: { id: string; tokenHash: string; role: AdminRole }): Promise<void> {
    await this.prisma.adminToken.create({ data: token });
  }
}
