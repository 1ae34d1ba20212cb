import { X509Certificate, type webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { importPKCS8 } from 'jose';
import { errorMessage } from '../../libs/cli-support/errors';
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

/**
 * The SVID and key a login (or the daemon) wrote to `dir`, checked to
 * belong together: a command signing with a key the certificate does not
 * certify would only be refused by attestd.
 */
export async function readHeldSvid(dir: string): Promise<HeldSvid> {
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
  if (!(await leafMatchesKey(certChain, await publicKeyOf(privateKey)))) {
    throw new Error(`${certPath} does not certify the key in ${keyPath}; log in again`);
  }
  return { ...facts, certChain, privateKey };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path}: ${errorMessage(error)}; log in first (attestd-agent login --out DIR)`, { cause: error });
  }
}

/** The public half of an extractable EC private key, through its JWK. */
async function publicKeyOf(privateKey: webcrypto.CryptoKey): Promise<webcrypto.CryptoKey> {
  const { subtle } = globalThis.crypto;
  const { kty, crv, x, y } = (await subtle.exportKey('jwk', privateKey)) as webcrypto.JsonWebKey;
  return subtle.importKey('jwk', { kty, crv, x, y }, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
}
