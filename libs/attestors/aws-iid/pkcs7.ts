import { hash, verify as verifySignature } from 'node:crypto';
import { ProofRejected } from '../attestor';
import { BerError, TAG, children, content, expectTag, octetStringValue, oidToString, readWhole, type Tlv } from './ber';
import { MAX_DOCUMENT_BYTES } from './document';
import type { IidTrustSet } from './trust-set';

// Step 1 of `aws_iid` (attestors.md): the PKCS#7 signature that IMDS serves at
// /latest/dynamic/instance-identity/rsa2048. Only the structure AWS produces
// is accepted: SignedData over id-data, one signer, SHA-256, RSA.

/** IMDS's answer is ~1.1 KB of base64; 16 KiB leaves room for a certificate bag and no more. */
export const MAX_SIGNATURE_BASE64 = 16 * 1024;

// OIDs as content octets, compared byte for byte.
const OID = {
  signedData: Buffer.from('2a864886f70d010702', 'hex'), // 1.2.840.113549.1.7.2
  data: Buffer.from('2a864886f70d010701', 'hex'), // 1.2.840.113549.1.7.1
  sha256: Buffer.from('608648016503040201', 'hex'), // 2.16.840.1.101.3.4.2.1
  rsaEncryption: Buffer.from('2a864886f70d010101', 'hex'), // 1.2.840.113549.1.1.1
  sha256WithRSAEncryption: Buffer.from('2a864886f70d01010b', 'hex'), // 1.2.840.113549.1.1.11
  contentType: Buffer.from('2a864886f70d010903', 'hex'), // 1.2.840.113549.1.9.3
  messageDigest: Buffer.from('2a864886f70d010904', 'hex'), // 1.2.840.113549.1.9.4
};

/** Names for digests an operator may meet in a rejection message. */
const DIGEST_NAMES: Record<string, string> = {
  '1.3.14.3.2.26': 'SHA-1',
  '1.2.840.113549.2.5': 'MD5',
  '2.16.840.1.101.3.4.2.4': 'SHA-224',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
};

const REGION = /^[a-z0-9-]{1,64}$/;

function reject(reason: string): never {
  throw new ProofRejected(`aws_iid: ${reason}`);
}

function buf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Verifies the IID signature (step 1) and returns the region whose trusted
 * certificates verified it. Throws ProofRejected, and nothing else, for any
 * input: a reason prefixed `aws_iid: ` that names the failed check.
 *
 * The document's `region` selects the keys, so it is read only from the
 * bytes the signature covers (the content inside, which must equal the
 * document sent, or the document itself when detached); a document claiming
 * another region then meets keys that do not verify it.
 */
export function verifyIidSignature(signatureBase64: string, document: string, trust: IidTrustSet): { region: string } {
  try {
    return verifyOrThrow(signatureBase64, document, trust);
  } catch (error) {
    if (error instanceof ProofRejected) throw error;
    if (error instanceof BerError) reject(`signature is not a valid PKCS#7 SignedData: ${error.message}`);
    // Hostile input must never surface as a 500.
    reject('signature could not be parsed');
  }
}

function verifyOrThrow(signatureBase64: string, document: string, trust: IidTrustSet): { region: string } {
  const der = decodeBase64(signatureBase64);
  if (typeof document !== 'string') reject('document is not a string');
  const signed = parseSignedData(der);

  if (!buf(signed.eContentType).equals(OID.data)) {
    reject(`signature content type ${oidToString(signed.eContentType)} is not id-data`);
  }
  if (signed.signerInfos.length !== 1)
    reject(`signature must have exactly one signer, it has ${signed.signerInfos.length}`);
  const signer = parseSignerInfo(der, signed.signerInfos[0]!);
  checkDigestAlgorithm(der, signer.digestAlgorithm);
  checkSignatureAlgorithm(der, signer.signatureAlgorithm);

  // Which bytes are signed is decided before anything is read from them.
  const sent = Buffer.from(document, 'utf8');
  if (sent.length > MAX_DOCUMENT_BYTES) reject(`document is longer than ${MAX_DOCUMENT_BYTES} bytes`);
  if (signed.eContent !== undefined && !buf(signed.eContent).equals(sent)) {
    reject('document sent differs from the content inside the signature');
  }
  // Lone surrogates do not survive UTF-8; the text parsed later must be the signed bytes exactly.
  if (sent.toString('utf8') !== document) reject('document is not well-formed Unicode text');
  const region = regionOf(document);

  const signedBytes = signer.signedAttrs === undefined ? sent : checkSignedAttributes(der, signer.signedAttrs, sent);
  const keys = trust.forRegion(region);
  if (keys.length === 0) reject(`no trusted certificate for region ${region}`);
  for (const key of keys) {
    // rsaEncryption and sha256WithRSAEncryption both mean PKCS#1 v1.5 over a SHA-256 DigestInfo.
    if (verifySignature('sha256', signedBytes, key, signer.signature)) return { region };
  }
  reject(`signature does not verify against the certificate for region ${region}`);
}

function decodeBase64(signatureBase64: string): Buffer {
  if (typeof signatureBase64 !== 'string') reject('signature is not a string');
  if (signatureBase64.length > MAX_SIGNATURE_BASE64)
    reject(`signature is longer than ${MAX_SIGNATURE_BASE64} characters`);
  // IMDS wraps the base64 at 64 columns.
  const compact = signatureBase64.replace(/[\r\n\t ]/g, '');
  if (compact.length === 0) reject('signature is empty');
  // Node's decoder skips what is not base64; re-encoding and comparing
  // refuses such input (and non-canonical padding) faster than a regex scan.
  const der = Buffer.from(compact, 'base64');
  if (der.toString('base64') !== compact) reject('signature is not base64');
  return der;
}

interface SignedData {
  eContentType: Uint8Array;
  /** undefined when detached */
  eContent?: Uint8Array;
  signerInfos: Tlv[];
}

/** ContentInfo { signedData, [0] SignedData }; certificates and CRLs are skipped, never trusted. */
function parseSignedData(der: Buffer): SignedData {
  const contentInfo = expectTag(readWhole(der), TAG.SEQUENCE, 'ContentInfo');
  const [type, explicit, ...extra] = children(der, contentInfo);
  const typeOid = content(der, expectTag(type, TAG.OID, 'ContentInfo content type'));
  if (!buf(typeOid).equals(OID.signedData))
    throw new BerError(`content type ${oidToString(typeOid)} is not signedData`);
  if (extra.length > 0) throw new BerError('ContentInfo has extra elements');
  const [signedData, ...more] = children(der, expectTag(explicit, TAG.CONTEXT_0, 'ContentInfo content'));
  if (more.length > 0) throw new BerError('ContentInfo content has extra elements');

  const fields = children(der, expectTag(signedData, TAG.SEQUENCE, 'SignedData'));
  expectTag(fields[0], TAG.INTEGER, 'SignedData version');
  expectTag(fields[1], TAG.SET, 'SignedData digestAlgorithms');
  const encap = children(der, expectTag(fields[2], TAG.SEQUENCE, 'encapContentInfo'));
  const eContentType = content(der, expectTag(encap[0], TAG.OID, 'eContentType'));
  let eContent: Uint8Array | undefined;
  if (encap.length > 1) {
    const [octets, ...rest] = children(der, expectTag(encap[1], TAG.CONTEXT_0, 'eContent'));
    if (octets === undefined || rest.length > 0) throw new BerError('eContent must hold one OCTET STRING');
    eContent = octetStringValue(der, octets);
    if (encap.length > 2) throw new BerError('encapContentInfo has extra elements');
  }
  let next = 3;
  if (fields[next]?.tag === TAG.CONTEXT_0) next++; // certificates: ignored
  if (fields[next]?.tag === TAG.CONTEXT_1) next++; // crls: ignored
  const signerInfos = expectTag(fields[next], TAG.SET, 'SignedData signerInfos');
  if (fields.length !== next + 1) throw new BerError('SignedData has extra elements');
  return { eContentType, eContent, signerInfos: children(der, signerInfos) };
}

interface SignerInfo {
  digestAlgorithm: Tlv;
  signedAttrs?: Tlv;
  signatureAlgorithm: Tlv;
  signature: Buffer;
}

/** SignerInfo; the signer identifier is not used: only trust-set keys are tried. */
function parseSignerInfo(der: Buffer, tlv: Tlv): SignerInfo {
  const fields = children(der, expectTag(tlv, TAG.SEQUENCE, 'SignerInfo'));
  expectTag(fields[0], TAG.INTEGER, 'SignerInfo version');
  if (fields[1] === undefined) throw new BerError('SignerInfo sid is missing');
  const digestAlgorithm = expectTag(fields[2], TAG.SEQUENCE, 'SignerInfo digestAlgorithm');
  let next = 3;
  let signedAttrs: Tlv | undefined;
  if (fields[next]?.tag === TAG.CONTEXT_0) signedAttrs = fields[next++];
  const signatureAlgorithm = expectTag(fields[next++], TAG.SEQUENCE, 'SignerInfo signatureAlgorithm');
  const signature = expectTag(fields[next++], TAG.OCTET_STRING, 'SignerInfo signature');
  if (fields[next]?.tag === TAG.CONTEXT_1) next++; // unsignedAttrs: not covered by the signature, ignored
  if (fields.length !== next) throw new BerError('SignerInfo has extra elements');
  return { digestAlgorithm, signedAttrs, signatureAlgorithm, signature: buf(content(der, signature)) };
}

/** AlgorithmIdentifier { OID, parameters absent or NULL }. */
function algorithm(der: Buffer, tlv: Tlv, what: string): { oid: Buffer; nullOrAbsent: boolean } {
  const [oid, parameters, ...extra] = children(der, tlv);
  const id = buf(content(der, expectTag(oid, TAG.OID, what)));
  const nullOrAbsent =
    extra.length === 0 &&
    (parameters === undefined || (parameters.tag === TAG.NULL && parameters.contentEnd === parameters.contentStart));
  return { oid: id, nullOrAbsent };
}

function checkDigestAlgorithm(der: Buffer, tlv: Tlv): void {
  const { oid, nullOrAbsent } = algorithm(der, tlv, 'digest algorithm');
  if (!oid.equals(OID.sha256)) {
    const dotted = oidToString(oid);
    reject(`digest algorithm ${DIGEST_NAMES[dotted] ?? dotted} is not accepted (SHA-256 only)`);
  }
  if (!nullOrAbsent) reject('digest algorithm SHA-256 has unexpected parameters');
}

function checkSignatureAlgorithm(der: Buffer, tlv: Tlv): void {
  const { oid, nullOrAbsent } = algorithm(der, tlv, 'signature algorithm');
  if (!oid.equals(OID.rsaEncryption) && !oid.equals(OID.sha256WithRSAEncryption)) {
    reject(`signature algorithm ${oidToString(oid)} is not accepted (RSA with SHA-256 only)`);
  }
  if (!nullOrAbsent) reject('signature algorithm has unexpected parameters');
}

/**
 * With signed attributes the signature covers them, not the content: so the
 * content is bound only through `messageDigest`, and `contentType` must say
 * id-data (RFC 5652 §5.3, §5.4). Returns the bytes the signature covers: the
 * attributes exactly as received, with the [0] IMPLICIT tag replaced by the
 * SET OF tag. Re-encoding parsed attributes could reorder or normalise them
 * and verify something other than what was signed.
 */
function checkSignedAttributes(der: Buffer, attrs: Tlv, contentBytes: Buffer): Buffer {
  if (attrs.indefinite) reject('signed attributes are not DER encoded');
  let messageDigest: Buffer | undefined;
  let contentType: Buffer | undefined;
  for (const attribute of children(der, attrs)) {
    const [type, values, ...extra] = children(der, expectTag(attribute, TAG.SEQUENCE, 'signed attribute'));
    const oid = buf(content(der, expectTag(type, TAG.OID, 'signed attribute type')));
    const list = children(der, expectTag(values, TAG.SET, 'signed attribute values'));
    if (extra.length > 0) throw new BerError('signed attribute has extra elements');
    if (oid.equals(OID.messageDigest) || oid.equals(OID.contentType)) {
      const name = oid.equals(OID.messageDigest) ? 'messageDigest' : 'contentType';
      if ((name === 'messageDigest' ? messageDigest : contentType) !== undefined)
        reject(`signed attributes: ${name} appears twice`);
      if (list.length !== 1) reject(`signed attributes: ${name} must have exactly one value`);
      const tag = name === 'messageDigest' ? TAG.OCTET_STRING : TAG.OID;
      const value = buf(content(der, expectTag(list[0], tag, `signed attribute ${name}`)));
      if (name === 'messageDigest') messageDigest = value;
      else contentType = value;
    }
  }
  if (contentType === undefined) reject('signed attributes: contentType is missing');
  if (!contentType.equals(OID.data))
    reject(`signed attributes: contentType ${oidToString(contentType)} is not id-data`);
  if (messageDigest === undefined) reject('signed attributes: messageDigest is missing');
  if (!messageDigest.equals(hash('sha256', contentBytes, 'buffer'))) {
    reject('signed attributes: messageDigest does not match the SHA-256 of the content');
  }
  const signedBytes = Buffer.from(der.subarray(attrs.start, attrs.end));
  signedBytes[0] = TAG.SET;
  return signedBytes;
}

/** The document's `region`, read only to choose the keys; step 2 checks the rest. */
function regionOf(document: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    reject('document is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) reject('document is not a JSON object');
  const region = (parsed as Record<string, unknown>).region;
  if (typeof region !== 'string') reject('document has no region');
  // Only the shape of a region name: the trust set decides which exist.
  if (!REGION.test(region)) reject('document region is not a region name');
  return region;
}
