import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { DerError, TAG, bitStringBytes, children, content, expect, oid, raw, readRoot, type Node } from './der';
import { classifyPublicKey } from './key-policy';
import { PemError, decodePem, encodePem } from './pem';
import { canonicalSpki } from './spki';

// PKCS#10 certificate signing requests from agents.
//
// All we take from a CSR is its public key, and only after checking the CSR
// is signed by that key (proof the agent holds the private key). Subject and
// requested extensions are ignored: the server alone decides the SPIFFE ID.
// The input is hostile, so every failure becomes CsrRejected with a reason an
// operator can act on, and nothing else escapes (a fuzz test checks this).

/** Agent bodies are capped at 64 KiB; a CSR has no business being over 16. */
export const MAX_CSR_PEM_BYTES = 16 * 1024;

export class CsrRejected extends Error {
  constructor(readonly reason: string) {
    super(`csr: ${reason}`);
    this.name = 'CsrRejected';
  }
}

export interface ParsedCsr {
  /** the verified subject public key, ready for CertificateAuthority.issueX509Svid */
  readonly publicKey: KeyObject;
  /** SubjectPublicKeyInfo DER in canonical form (named curve, uncompressed point) */
  readonly spki: Buffer;
  /** the CSR as received (DER), e.g. to hash for a renewal proof */
  readonly der: Buffer;
  /** `ec-p256`, `ec-p384` or `rsa-<bits>`, for logs and audit */
  readonly keyAlgorithm: string;
}

// Signature algorithms by encoded OID (hex). SHA-1 and RSA-PSS are not accepted.
const SIGNATURE_ALGORITHMS = new Map<string, { family: 'ec' | 'rsa'; hash: string }>([
  [oid('1.2.840.10045.4.3.2').toString('hex'), { family: 'ec', hash: 'sha256' }],
  [oid('1.2.840.10045.4.3.3').toString('hex'), { family: 'ec', hash: 'sha384' }],
  [oid('1.2.840.10045.4.3.4').toString('hex'), { family: 'ec', hash: 'sha512' }],
  [oid('1.2.840.113549.1.1.11').toString('hex'), { family: 'rsa', hash: 'sha256' }],
  [oid('1.2.840.113549.1.1.12').toString('hex'), { family: 'rsa', hash: 'sha384' }],
  [oid('1.2.840.113549.1.1.13').toString('hex'), { family: 'rsa', hash: 'sha512' }],
]);

/**
 * Parses one PEM `CERTIFICATE REQUEST`, checks its self-signature and key.
 * Async so that a future check (e.g. a key deny-list) may await without an
 * API change; today all work is synchronous and takes well under 1 ms.
 */
export async function parseCsr(pem: string): Promise<ParsedCsr> {
  return parseCsrSync(pem);
}

function parseCsrSync(pem: unknown): ParsedCsr {
  if (typeof pem !== 'string' || pem.trim() === '') throw new CsrRejected('empty');
  if (Buffer.byteLength(pem, 'utf8') > MAX_CSR_PEM_BYTES)
    throw new CsrRejected(`larger than ${MAX_CSR_PEM_BYTES} bytes`);
  const der = decodeSinglePem(pem);
  try {
    return parseDer(der);
  } catch (error) {
    if (error instanceof DerError) throw new CsrRejected(`malformed DER: ${error.message}`);
    throw error;
  }
}

function decodeSinglePem(pem: string): Buffer {
  let blocks;
  try {
    blocks = decodePem(pem);
  } catch (error) {
    if (error instanceof PemError) throw new CsrRejected(error.message);
    throw error;
  }
  if (blocks.length !== 1) throw new CsrRejected(`expected exactly one PEM block, found ${blocks.length}`);
  const [block] = blocks as [(typeof blocks)[number]];
  if (block.label !== 'CERTIFICATE REQUEST') {
    throw new CsrRejected(`expected a "CERTIFICATE REQUEST" PEM block, found "${block.label}"`);
  }
  return block.der;
}

// CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
// CertificationRequestInfo ::= SEQUENCE { version INTEGER (0), subject Name, subjectPKInfo, attributes [0] }
function parseDer(der: Buffer): ParsedCsr {
  const outer = children(der, readRoot(der, TAG.SEQUENCE));
  if (outer.length !== 3) throw new CsrRejected('not a PKCS#10 request (wrong number of fields)');
  const [infoNode, algorithmNode, signatureNode] = outer as [Node, Node, Node];

  const info = children(der, expect(infoNode, TAG.SEQUENCE));
  if (info.length !== 4) throw new CsrRejected('not a PKCS#10 request (wrong number of request-info fields)');
  const [versionNode, subjectNode, spkiNode, attributesNode] = info as [Node, Node, Node, Node];
  const version = content(der, expect(versionNode, TAG.INTEGER));
  if (version.length !== 1 || version[0] !== 0) throw new CsrRejected('unsupported PKCS#10 version');
  expect(subjectNode, TAG.SEQUENCE);
  expect(spkiNode, TAG.SEQUENCE);
  expect(attributesNode, 0xa0);

  const spkiDer = raw(der, spkiNode);
  const publicKey = importPublicKey(spkiDer);
  const classified = classifyPublicKey(publicKey, spkiDer);
  if (!classified.ok) throw new CsrRejected(classified.reason);

  const algorithm = children(der, expect(algorithmNode, TAG.SEQUENCE));
  if (algorithm.length < 1 || algorithm.length > 2) throw new CsrRejected('malformed signature algorithm');
  const signatureAlgorithm = SIGNATURE_ALGORITHMS.get(raw(der, expect(algorithm[0]!, TAG.OID)).toString('hex'));
  if (signatureAlgorithm === undefined) {
    throw new CsrRejected('unsupported signature algorithm; use ECDSA or RSA PKCS#1 v1.5 with SHA-256/384/512');
  }
  if (signatureAlgorithm.family !== publicKey.asymmetricKeyType) {
    throw new CsrRejected('signature algorithm does not match the key type');
  }

  const signature = bitStringBytes(der, signatureNode);
  if (!verifies(signatureAlgorithm.hash, raw(der, infoNode), publicKey, signature)) {
    throw new CsrRejected('signature does not verify');
  }
  return {
    publicKey,
    spki: canonicalSpki(publicKey, spkiDer),
    der: Buffer.from(der),
    keyAlgorithm: classified.algorithm,
  };
}

function importPublicKey(spki: Buffer): KeyObject {
  try {
    // As PEM, not `{ key, format: 'der', type: 'spki' }`: Node checks an
    // options object with two thrown-and-caught brand checks, and re-encoding
    // costs less (21 µs vs 35 µs per login, measured on Node 24).
    return createPublicKey(encodePem('PUBLIC KEY', spki));
  } catch {
    throw new CsrRejected('public key cannot be read');
  }
}

function verifies(hash: string, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    // ECDSA signatures in PKCS#10 are DER-encoded (Node's default dsaEncoding).
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}
