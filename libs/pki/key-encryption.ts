import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// Private keys at rest (the CA key in the database). With a key-encryption
// key (KEK) from the environment or a file, the PKCS#8 PEM is sealed with
// AES-256-GCM, so a database dump alone does not yield the CA. Without one
// (the development default) it is stored as is and `encrypted` says so,
// letting the server warn and refuse an encrypted key it cannot open.
//
// Sealed form: `v1:` + base64(iv[12] || ciphertext || tag[16]). The version
// prefix leaves room for another scheme; the AAD binds the ciphertext to its
// purpose, so a blob sealed for something else under the same KEK is refused.

const VERSION = 'v1:';
const AAD = Buffer.from('attestd/pki: private key at rest, v1', 'utf8');
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEK_BYTES = 32;

export interface SealedKey {
  readonly sealed: string;
  readonly encrypted: boolean;
}

/** Seals a PKCS#8 PEM under `kek`; without a KEK returns it unchanged with `encrypted: false`. */
export function sealPrivateKey(pkcs8Pem: string, kek?: Buffer): SealedKey {
  if (kek === undefined) return { sealed: pkcs8Pem, encrypted: false };
  checkKek(kek);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(AAD);
  const ciphertext = Buffer.concat([cipher.update(pkcs8Pem, 'utf8'), cipher.final()]);
  return { sealed: VERSION + Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64'), encrypted: true };
}

/**
 * The PKCS#8 PEM back. Throws an Error naming the problem when the KEK is
 * missing or wrong; a plaintext key opened with a KEK configured is returned
 * as is (the caller should re-seal it, e.g. after a KEK was first set).
 */
export function openPrivateKey(sealed: string, encrypted: boolean, kek?: Buffer): string {
  if (!encrypted) return sealed;
  if (kek === undefined) throw new Error('kek: the stored private key is encrypted; key-encryption key required');
  checkKek(kek);
  if (!sealed.startsWith(VERSION)) throw new Error('kek: sealed private key has an unknown format');
  const blob = Buffer.from(sealed.slice(VERSION.length), 'base64');
  if (blob.length < IV_BYTES + TAG_BYTES + 1) throw new Error('kek: sealed private key is truncated');
  const decipher = createDecipheriv('aes-256-gcm', kek, blob.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(AAD);
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(blob.subarray(IV_BYTES, blob.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    // GCM cannot tell a wrong key from altered data; the wrong key is by far the likelier.
    throw new Error(
      'kek: key-encryption key does not match the one the private key was sealed with (or the sealed key was altered)',
    );
  }
}

/** The key-encryption key that seals, and the ones being rotated away from, which only open. */
export interface KeyRing {
  readonly current: Buffer;
  readonly previous: readonly Buffer[];
}

/**
 * Opens a stored key with the ring's current KEK, else with a previous one.
 * `stale` says it must be sealed again with the current KEK: it was stored
 * in plaintext, or sealed with a previous key. Throws the current key's
 * error when no key opens it.
 */
export function openWithKeyRing(sealed: string, encrypted: boolean, ring: KeyRing): { pem: string; stale: boolean } {
  if (!encrypted) return { pem: sealed, stale: true };
  try {
    return { pem: openPrivateKey(sealed, true, ring.current), stale: false };
  } catch (error) {
    for (const kek of ring.previous) {
      try {
        return { pem: openPrivateKey(sealed, true, kek), stale: true };
      } catch {
        // not this one either
      }
    }
    throw error;
  }
}

/**
 * A KEK from configuration text: 64 hex characters, or base64 / base64url of
 * 32 bytes (padding optional). Errors never echo the text: it is a secret.
 */
export function parseKek(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const unpadded = trimmed.replace(/=$/, '');
    // Node's base64 decoder reads both alphabets. 43 characters carry 258
    // bits; the round trip refuses non-zero spare bits (a non-canonical key).
    const bytes = Buffer.from(unpadded, 'base64');
    if (bytes.toString('base64url') === unpadded.replace(/\+/g, '-').replace(/\//g, '_')) return bytes;
  }
  throw new Error(
    `kek: key-encryption key must be 32 bytes written as 64 hex characters or base64 (got ${trimmed.length} characters)`,
  );
}

function checkKek(kek: Buffer): void {
  if (!Buffer.isBuffer(kek) || kek.length !== KEK_BYTES) {
    throw new Error(`kek: key-encryption key must be ${KEK_BYTES} bytes`);
  }
}
