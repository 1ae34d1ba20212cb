/**
 * The ports of the key lib: where keys are kept (the `signing_keys` table,
 * shared by every replica) and where what happens to them is logged. The
 * server passes its `KeysRepository` and its pino logger; tests pass an
 * in-memory store.
 */

/** A key as stored: the private key sealed with the key-encryption key (or, from before one was set, in plaintext). */
export interface StoredKey {
  id: string;
  purpose: string;
  algorithm: string;
  /** a CA's certificate (PEM); null for other keys */
  certificate: string | null;
  /** a JWT key's public JWK; `{}` for other keys */
  publicJwk: unknown;
  privateKey: string;
  encrypted: boolean;
  /** when it starts signing */
  notBefore: Date;
  /** when everything it signed has expired */
  notAfter: Date;
}

export interface KeyStore {
  /** every key of a purpose, oldest first */
  byPurpose(purpose: string): Promise<StoredKey[]>;
  /** the stored key with this id, made and stored first if there is none; the first insert wins between replicas */
  getOrCreate(id: string, make: () => StoredKey | Promise<StoredKey>): Promise<StoredKey>;
  /** replaces the sealed private key only if it is still `from`; false when another replica did it first */
  reseal(id: string, from: string, to: string): Promise<boolean>;
}

/** The part of a pino logger the key lib uses. */
export interface KeyLog {
  info(fields: object, message: string): void;
}
