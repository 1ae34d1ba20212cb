import type { KeyStore, StoredKey } from './key-store';

/** The signing_keys table in memory, with the repository's first-insert-wins rule. */
export class MemoryKeys implements KeyStore {
  readonly rows = new Map<string, StoredKey>();

  async byPurpose(purpose: string): Promise<StoredKey[]> {
    return [...this.rows.values()]
      .filter((k) => k.purpose === purpose)
      .sort((a, b) => a.notBefore.getTime() - b.notBefore.getTime());
  }

  async getOrCreate(id: string, make: () => StoredKey | Promise<StoredKey>): Promise<StoredKey> {
    if (!this.rows.has(id)) this.rows.set(id, { ...(await make()), id });
    return this.rows.get(id)!;
  }

  async reseal(id: string, from: string, to: string): Promise<boolean> {
    const row = this.rows.get(id);
    if (row?.privateKey !== from) return false;
    this.rows.set(id, { ...row, privateKey: to, encrypted: true });
    return true;
  }
}
