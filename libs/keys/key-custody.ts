import { randomBytes } from 'node:crypto';
import { openWithKeyRing, sealPrivateKey, type KeyRing } from '@libs/pki';
import type { KeyLog, KeyStore, StoredKey } from './key-store';

/** The server secrets (MAC keys) never expire. */
const NEVER = new Date('9999-12-31T00:00:00Z');

export interface KeyCustodyOptions {
  ring: KeyRing;
  /** where the current key-encryption key came from, for the log line */
  source?: string;
  /** the error that stops the start when no key of the ring opens a stored key */
  cannotOpen(stored: StoredKey, reason: string): Error;
  log: KeyLog;
}

/**
 * Seals and opens stored private keys with the key ring. A key found in
 * plaintext (stored before a key-encryption key was set) or under a previous
 * key is queued, and `resealStale()` seals it with the current key.
 */
export class KeyCustody {
  private readonly stale: { stored: StoredKey; pem: string }[] = [];

  constructor(
    readonly store: KeyStore,
    private readonly options: KeyCustodyOptions,
  ) {}

  seal(pem: string): { sealed: string; encrypted: boolean } {
    return sealPrivateKey(pem, this.options.ring.current);
  }

  /** The private key (PEM, or a secret's base64); queues a stale one to be sealed again. */
  open(stored: StoredKey): string {
    let opened: { pem: string; stale: boolean };
    try {
      opened = openWithKeyRing(stored.privateKey, stored.encrypted, this.options.ring);
    } catch (error) {
      throw this.options.cannotOpen(stored, (error as Error).message.replace(/^kek: /, ''));
    }
    if (opened.stale) this.stale.push({ stored, pem: opened.pem });
    return opened.pem;
  }

  /** A 32-byte server secret shared by every replica: made once, stored sealed like the signing keys. */
  async secret(id: string, purpose: string): Promise<Buffer> {
    const stored = await this.store.getOrCreate(id, () => {
      const sealed = this.seal(randomBytes(32).toString('base64'));
      return storedKey(
        { id, purpose, algorithm: 'HS256', certificate: null, publicJwk: {}, notBefore: new Date(), notAfter: NEVER },
        sealed,
      );
    });
    return Buffer.from(this.open(stored), 'base64');
  }

  /** Seals the queued keys with the current key-encryption key; a row changes only if no replica did it first. */
  async resealStale(): Promise<void> {
    const sealed: { id: string; was: string }[] = [];
    while (this.stale.length > 0) {
      const { stored, pem } = this.stale[0]!;
      if (await this.store.reseal(stored.id, stored.privateKey, this.seal(pem).sealed)) {
        sealed.push({ id: stored.id, was: stored.encrypted ? 'sealed with a previous key' : 'plaintext' });
      }
      this.stale.shift();
    }
    if (sealed.length > 0) {
      this.options.log.info(
        { keys: sealed, keyEncryptionKey: this.options.source },
        `identity: sealed ${sealed.length} stored keys with the current key-encryption key`,
      );
    }
  }
}

/** A row to store: the key's public parts and its sealed private key. */
export function storedKey(
  key: Omit<StoredKey, 'privateKey' | 'encrypted'>,
  sealed: { sealed: string; encrypted: boolean },
): StoredKey {
  return { ...key, privateKey: sealed.sealed, encrypted: sealed.encrypted };
}
