import { X509Certificate, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { DerError } from './der';
import { PemError, decodePem } from './pem';
import { InvalidSpiffeId, parseSpiffeId } from './spiffe-id';
import { keyDetailsOf } from './spki';
import { OID } from './x509-encode';
import {
  criticalExtensions,
  keyUsageFirstOctet,
  pathLenConstraint,
  readCertificate,
  uriSans,
  type CertificateFields,
} from './x509-read';

// Verifies an X509-SVID chain an agent presents (renewal, JWT-SVID minting)
// against the trust bundle. Signatures and issuer matching are OpenSSL's,
// through crypto.X509Certificate; the SPIFFE rules (one URI SAN, a leaf that
// cannot sign certificates, the trust domain of the anchor) are checked here.
// Input from the agent only ever produces SvidRejected.

export const MAX_CHAIN_PEM_BYTES = 64 * 1024;
/** Leaf plus intermediates; our own chains are one certificate long. */
export const MAX_CHAIN_CERTIFICATES = 8;

// RFC 5280 §4.2: a certificate with a critical extension the verifier does
// not process must be refused. These are the ones checked here or by OpenSSL.
const UNDERSTOOD_CRITICAL = new Set(
  [OID.basicConstraints, OID.keyUsage, OID.extKeyUsage, OID.subjectAltName].map((id) => id.toString('hex')),
);

const KEY_CERT_SIGN = 0x04;
const CRL_SIGN = 0x02;

export class SvidRejected extends Error {
  constructor(readonly reason: string) {
    super(`svid: ${reason}`);
    this.name = 'SvidRejected';
  }
}

export interface VerifiedSvid {
  readonly spiffeId: string;
  readonly trustDomain: string;
  /** lower-case hex, as CertificateAuthority.issueX509Svid reports it */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** the leaf's key: verifies the agent's proof-of-possession signature */
  readonly publicKey: KeyObject;
}

interface Parsed {
  readonly x509: X509Certificate;
  readonly fields: CertificateFields;
  /** for a bundle CA, the bundle entry (PEM) it came from */
  readonly source?: string;
}

/** What a chain check concluded, and how long it holds. */
export interface ChainVerdict {
  readonly svid: VerifiedSvid;
  /** the bundle entry that anchored the chain: the verdict holds while the bundle holds it */
  readonly anchorPem: string;
  /** the latest notBefore and earliest notAfter of the chain and its anchor, in ms */
  readonly validFrom: number;
  readonly validUntil: number;
}

/**
 * Verifies `certChainPem` (leaf first) against the CA certificates in
 * `bundlePems` at `now`. The trust domain is the one the anchoring bundle CA
 * names in its URI SAN (`spiffe://<trust domain>`). A malformed bundle is a
 * server fault and throws a plain Error, not SvidRejected.
 */
export function verifySvidChain(certChainPem: string, bundlePems: readonly string[], now: Date): VerifiedSvid {
  return checkSvidChain(certChainPem, bundlePems, now).svid;
}

/** verifySvidChain, with the facts the verdict depends on (`svid-cache.ts`). */
export function checkSvidChain(certChainPem: string, bundlePems: readonly string[], now: Date): ChainVerdict {
  const chain = parseChain(certChainPem);
  const bundle = bundlePems.flatMap(parseBundle);
  const leaf = chain[0]!;

  if (leaf.x509.ca) throw new SvidRejected('leaf certificate is a CA');
  const usage = keyUsageOf(leaf);
  if (usage !== undefined && (usage & (KEY_CERT_SIGN | CRL_SIGN)) !== 0) {
    throw new SvidRejected('leaf certificate may sign certificates or CRLs');
  }
  chain.forEach((certificate, index) => {
    checkValidAt(certificate.x509, now, index === 0 ? 'leaf certificate' : `chain certificate ${index + 1}`);
    if (index > 0 && !certificate.x509.ca) throw new SvidRejected(`chain certificate ${index + 1} is not a CA`);
  });
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!signedBy(chain[i]!.x509, chain[i + 1]!.x509)) {
      throw new SvidRejected(`chain certificate ${i + 1} is not signed by the next one`);
    }
  }

  const last = chain[chain.length - 1]!;
  const anchor = bundle.find((ca) => ca.x509.raw.equals(last.x509.raw) || (ca.x509.ca && signedBy(last.x509, ca.x509)));
  if (anchor === undefined) throw new SvidRejected('chain does not verify against the trust bundle');
  checkValidAt(anchor.x509, now, 'trust bundle CA');
  const cas = anchor.x509.raw.equals(last.x509.raw) ? chain.slice(1) : [...chain.slice(1), anchor];
  checkPathLengths(cas);
  chain.forEach((certificate, index) => checkCriticalExtensions(certificate, `chain certificate ${index + 1}`));
  const trustDomain = trustDomainOf(anchor);

  const sans = sansOf(leaf);
  if (sans.length !== 1) throw new SvidRejected(`leaf must have exactly one URI SAN, found ${sans.length}`);
  let spiffeId;
  try {
    spiffeId = parseSpiffeId(sans[0]!);
  } catch (error) {
    if (error instanceof InvalidSpiffeId) throw new SvidRejected(`URI SAN is not a SPIFFE ID: ${error.reason}`);
    throw error;
  }
  if (spiffeId.trustDomain !== trustDomain) {
    throw new SvidRejected(`SPIFFE ID is in trust domain ${spiffeId.trustDomain}, expected ${trustDomain}`);
  }
  if (spiffeId.path === '') throw new SvidRejected('SPIFFE ID of a leaf must have a path');
  const publicKey = leaf.x509.publicKey;
  // The proof of possession asks the key's curve next: read it from the certificate's SPKI, not OpenSSL.
  keyDetailsOf(publicKey, leaf.fields.spki);
  const svid = {
    spiffeId: spiffeId.id,
    trustDomain,
    serialHex: leaf.fields.serialHex,
    notBefore: leaf.x509.validFromDate,
    notAfter: leaf.x509.validToDate,
    publicKey,
  };
  const checked = [...chain, anchor].map((certificate) => certificate.x509);
  return {
    svid,
    anchorPem: anchor.source!,
    validFrom: Math.max(...checked.map((certificate) => certificate.validFromDate.getTime())),
    validUntil: Math.min(...checked.map((certificate) => certificate.validToDate.getTime())),
  };
}

function parseChain(pem: string): Parsed[] {
  if (typeof pem !== 'string' || pem.trim() === '') throw new SvidRejected('certificate chain is empty');
  if (Buffer.byteLength(pem, 'utf8') > MAX_CHAIN_PEM_BYTES) {
    throw new SvidRejected(`certificate chain is larger than ${MAX_CHAIN_PEM_BYTES} bytes`);
  }
  let blocks;
  try {
    blocks = decodePem(pem);
  } catch (error) {
    if (error instanceof PemError) throw new SvidRejected(error.message);
    throw error;
  }
  if (blocks.length > MAX_CHAIN_CERTIFICATES)
    throw new SvidRejected(`more than ${MAX_CHAIN_CERTIFICATES} certificates`);
  return blocks.map((block, index) => {
    if (block.label !== 'CERTIFICATE')
      throw new SvidRejected(`expected "CERTIFICATE" PEM blocks, found "${block.label}"`);
    const parsed = parseCertificate(block.der);
    if (parsed === undefined) throw new SvidRejected(`chain certificate ${index + 1} cannot be parsed`);
    return parsed;
  });
}

/**
 * The bundle's CA certificates, parsed once: every renewal and JWT-SVID
 * mint presents a chain against the same few CAs, and parsing them again
 * cost about a third of the chain check. Keyed by the PEM itself, so a
 * rotated CA is simply a new entry; a handful cover every CA a bundle
 * holds over a rotation.
 */
const parsedBundleCertificates = new LRUCache<string, readonly Parsed[]>({ max: 16 });

function parseBundle(pem: string): readonly Parsed[] {
  let parsed = parsedBundleCertificates.get(pem);
  if (parsed === undefined) {
    parsed = parseBundleUncached(pem);
    parsedBundleCertificates.set(pem, parsed);
  }
  return parsed;
}

function parseBundleUncached(pem: string): Parsed[] {
  let blocks;
  try {
    blocks = decodePem(pem);
  } catch {
    throw new Error('svid: trust bundle is not PEM');
  }
  return blocks.map((block) => {
    const parsed = block.label === 'CERTIFICATE' ? parseCertificate(block.der) : undefined;
    if (parsed === undefined) throw new Error('svid: trust bundle holds something other than certificates');
    return { ...parsed, source: pem };
  });
}

function parseCertificate(der: Buffer): Parsed | undefined {
  try {
    return { x509: new X509Certificate(der), fields: readCertificate(der) };
  } catch {
    return undefined;
  }
}

function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function checkValidAt(certificate: X509Certificate, now: Date, what: string): void {
  if (now < certificate.validFromDate)
    throw new SvidRejected(`${what} is not valid before ${certificate.validFromDate.toISOString()}`);
  if (now > certificate.validToDate)
    throw new SvidRejected(`${what} expired at ${certificate.validToDate.toISOString()}`);
}

function trustDomainOf(anchor: Parsed): string {
  for (const uri of sansOf(anchor)) {
    try {
      const id = parseSpiffeId(uri);
      if (id.path === '') return id.trustDomain;
    } catch {
      // not a SPIFFE ID; keep looking
    }
  }
  throw new SvidRejected(
    'the trust bundle CA that anchors the chain names no trust domain (URI SAN spiffe://<trust domain>)',
  );
}

function sansOf(certificate: Parsed): string[] {
  try {
    return uriSans(certificate.fields);
  } catch (error) {
    if (error instanceof DerError) throw new SvidRejected('subjectAltName cannot be parsed');
    throw error;
  }
}

function keyUsageOf(certificate: Parsed): number | undefined {
  try {
    return keyUsageFirstOctet(certificate.fields);
  } catch (error) {
    if (error instanceof DerError) throw new SvidRejected('keyUsage cannot be parsed');
    throw error;
  }
}

/** `cas[k]` has k intermediate CAs below it (`cas[0]` issued the leaf); its pathLenConstraint bounds k. */
function checkPathLengths(cas: readonly Parsed[]): void {
  cas.forEach((ca, below) => {
    let limit: number | undefined;
    try {
      limit = pathLenConstraint(ca.fields);
    } catch {
      throw new SvidRejected('basicConstraints cannot be parsed');
    }
    if (limit !== undefined && below > limit)
      throw new SvidRejected(`chain exceeds a CA's pathLenConstraint of ${limit}`);
  });
}

function checkCriticalExtensions(certificate: Parsed, what: string): void {
  if (criticalExtensions(certificate.fields).some((id) => !UNDERSTOOD_CRITICAL.has(id))) {
    throw new SvidRejected(`${what} has a critical extension this verifier does not process`);
  }
}
