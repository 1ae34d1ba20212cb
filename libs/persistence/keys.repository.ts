import type { StoredKey } from '@libs/keys/key-store';
import type { PrismaClient } from './generated/client';

// The key lib's port owns the shape of a stored key; this repository is its store.
export type { StoredKey } from '@libs/keys/key-store';

/** Signing keys (CA, login-ID MAC, later JWT) kept in the database so every replica shares them. */
export class KeysRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async byPurpose(purpose: string): Promise<StoredKey[]> {
    return this.prisma.signingKey.findMany({ where: { purpose }, orderBy: { notBefore: 'asc' } });
  }

  /**
   * Replaces a key's sealed form (a key-encryption key was set or rotated),
   * only if it is still `from`: when replicas race, the first one's stays.
   * Whether this call changed it.
   */
  async reseal(id: string, from: string, to: string): Promise<boolean> {
    const { count } = await this.prisma.signingKey.updateMany({
      where: { id, privateKey: from },
      data: { privateKey: to, encrypted: true },
    });
    return count > 0;
  }

  /**
   * Returns the key with this id, creating it with `make` when absent. When
   * replicas start together each may make one; the first insert wins and
   * everyone uses it.
   */
  async getOrCreate(id: string, make: () => StoredKey | Promise<StoredKey>): Promise<StoredKey> {
    const existing = await this.prisma.signingKey.findUnique({ where: { id } });
    if (existing) return existing;
    const made = await make();
    await this.prisma.signingKey.createMany({
      data: [{ ...made, id, publicJwk: made.publicJwk as object }],
      skipDuplicates: true,
    });
    return this.prisma.signingKey.findUniqueOrThrow({ where: { id } });
  }
}
