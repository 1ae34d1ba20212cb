import { X509Certificate, type webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { join, resolve } from 'node:path';
import { importPKCS8 } from 'jose';
import { errorMessage } from '@libs/cli-support/errors';
import { FILE_NAMES } from './files';
import { leafMatchesKey } from './keys';
import type { Validity } from './renewal-schedule';

/** What the leaf certificate of an SVID says that the agent acts on. */
export interface SvidFacts {
  spiffeId: string;
  /** lowercase hex, as attestd reports it */
  serial: string;
  validity: Validity;
}

/** The SVID an agent holds: its chain, the private key it certifies, and its facts. */
export interface HeldSvid extends SvidFacts {
  certChain: string;
  privateKey: webcrypto.CryptoKey;
}

/** The agent's SVIDs are ECDSA P-256 (`keys.ts`), so proofs are ES256. */
export const POP_ALGORITHM = 'ES256';

/** Reads the leaf of a PEM chain. Throws when it holds no certificate or no SPIFFE ID. */
export function svidFacts(certChain: string): SvidFacts {
  const leaf = new X509Certificate(certChain);
  const uri = (leaf.subjectAltName ?? '').split(', ').find((name) => name.startsWith('URI:spiffe://'));
  if (uri === undefined) throw new Error('the certificate holds no SPIFFE ID (URI SAN)');
  return {
    spiffeId: uri.slice('URI:'.length),
    serial: leaf.serialNumber.toLowerCase(),
    validity: { notBefore: leaf.validFromDate.getTime(), notAfter: leaf.validToDate.getTime() },
  };
}

/** How `readHeldSvid` rides out a daemon replacing the files as it reads them. */
export interface ReadRetry {
  /** reads of the pair before a mismatch is an error; default 5 */
  attempts?: number;
  /** awaited between two reads; default 10 ms (the renames it waits for take microseconds) */
  between?: () => Promise<void>;
}

/**
 * The SVID and key a login (or the daemon) wrote to `dir`, checked to
 * belong together: a command signing with a key the certificate does not
 * certify would only be refused by attestd. The daemon renames the key
 * before the SVID, so a read that falls between the two renames sees a new
 * key with the old SVID; such a pair is read again a few times before it is
 * an error.
 */
export async function readHeldSvid(dir: string, retry: ReadRetry = {}): Promise<HeldSvid> {
  const attempts = retry.attempts ?? 5;
  const between = retry.between ?? (() => delay(10));
  for (let attempt = 1; ; attempt++) {
    const read = await readPair(dir);
    if (read.matches || attempt >= attempts) {
      if (!read.matches) throw new Error(`${read.certPath} does not certify the key in ${read.keyPath}; log in again`);
      return read.held;
    }
    await between();
  }
}

async function readPair(dir: string): Promise<{ held: HeldSvid; matches: boolean; certPath: string; keyPath: string }> {
  const target = resolve(dir);
  const certPath = join(target, FILE_NAMES.svid);
  const keyPath = join(target, FILE_NAMES.key);
  const certChain = await readText(certPath);
  const keyPem = await readText(keyPath);
  let facts: SvidFacts;
  let privateKey: webcrypto.CryptoKey;
  try {
    facts = svidFacts(certChain);
  } catch (error) {
    throw new Error(`cannot use ${certPath}: ${errorMessage(error)}`, { cause: error });
  }
  try {
    privateKey = (await importPKCS8(keyPem, POP_ALGORITHM, { extractable: true })) as webcrypto.CryptoKey;
  } catch {
    // the key's text never goes into a message
    throw new Error(`cannot use ${keyPath}: not an ECDSA P-256 PKCS#8 private key`);
  }
  const matches = await leafMatchesKey(certChain, await publicKeyOf(privateKey));
  return { held: { ...facts, certChain, privateKey }, matches, certPath, keyPath };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${errorMessage(error)}; log in first (attestd-agent login --out DIR)`, {
      cause: error,
    });
  }
}

/** The public half of an extractable EC private key, through its JWK. */
async function publicKeyOf(privateKey: webcrypto.CryptoKey): Promise<webcrypto.CryptoKey> {
  const { subtle } = globalThis.crypto;
  const { kty, crv, x, y } = (await subtle.exportKey('jwk', privateKey)) as webcrypto.JsonWebKey;
  return subtle.importKey('jwk', { kty, crv, x, y }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
}
