// @peculiar/x509 resolves its algorithms through tsyringe, which needs the
// Reflect metadata polyfill loaded before the library itself.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { PemConverter, Pkcs10CertificateRequestGenerator, X509Certificate } from '@peculiar/x509';

/** The agent's key pair for one SVID, with the CSR the server signs. */
export interface AgentKey {
  keyPair: webcrypto.CryptoKeyPair;
  /** PKCS#8, `-----BEGIN PRIVATE KEY-----` */
  privateKeyPem: string;
  /** PKCS#10, `-----BEGIN CERTIFICATE REQUEST-----` */
  csrPem: string;
}

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/**
 * A fresh ECDSA P-256 key and a CSR signed by it. The subject is empty: the
 * server decides the SPIFFE ID and puts it in the certificate's URI SAN.
 */
export async function generateAgentKey(): Promise<AgentKey> {
  const keyPair = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const csr = await Pkcs10CertificateRequestGenerator.create(
    { keys: keyPair, signingAlgorithm: SIGNING_ALGORITHM },
    webcrypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keyPair.privateKey);
  return {
    keyPair,
    privateKeyPem: PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    csrPem: csr.toString('pem'),
  };
}

/**
 * Whether the first certificate of a PEM chain certifies `publicKey`: the
 * agent refuses to write an SVID it holds no key for. Throws when the chain
 * holds no parsable certificate.
 */
export async function leafMatchesKey(certChainPem: string, publicKey: webcrypto.CryptoKey): Promise<boolean> {
  const ders = PemConverter.decode(certChainPem);
  if (ders.length === 0) throw new Error('the SVID certificate chain holds no PEM certificate');
  const leaf = new X509Certificate(ders[0]);
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', publicKey));
  const certified = new Uint8Array(leaf.publicKey.rawData);
  return Buffer.from(spki).equals(Buffer.from(certified));
}
