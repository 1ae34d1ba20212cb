import { hash, sign, type KeyObject } from 'node:crypto';
import {
  TAG,
  bitString,
  bitStringBytes,
  bool,
  children,
  explicit,
  octetString,
  oid,
  readRoot,
  sequence,
  set,
  smallInteger,
  tlv,
  unsignedInteger,
  utf8String,
  x509Time,
  type Node,
} from './der';

// Building blocks of an X.509 v3 certificate (RFC 5280). Only what the two
// profiles in ca.ts need. Constant parts (OIDs, fixed extensions) are encoded
// once at module load so that issuing a certificate is a few concatenations
// plus one signature.

export const OID = {
  organizationName: oid('2.5.4.10'),
  commonName: oid('2.5.4.3'),
  basicConstraints: oid('2.5.29.19'),
  keyUsage: oid('2.5.29.15'),
  extKeyUsage: oid('2.5.29.37'),
  subjectAltName: oid('2.5.29.17'),
  subjectKeyIdentifier: oid('2.5.29.14'),
  authorityKeyIdentifier: oid('2.5.29.35'),
  serverAuth: oid('1.3.6.1.5.5.7.3.1'),
  clientAuth: oid('1.3.6.1.5.5.7.3.2'),
  ecdsaWithSha256: oid('1.2.840.10045.4.3.2'),
  ecdsaWithSha384: oid('1.2.840.10045.4.3.3'),
} as const;

/** Signature algorithm for a CA key: the AlgorithmIdentifier and the hash node:crypto needs. */
export interface SigningAlgorithm {
  readonly algorithmIdentifier: Buffer;
  readonly hash: 'sha256' | 'sha384';
}

// RFC 5758 §3.2: ECDSA AlgorithmIdentifiers have no parameters.
const ECDSA_SHA256: SigningAlgorithm = { algorithmIdentifier: sequence(OID.ecdsaWithSha256), hash: 'sha256' };
const ECDSA_SHA384: SigningAlgorithm = { algorithmIdentifier: sequence(OID.ecdsaWithSha384), hash: 'sha384' };

/** The algorithm matching a CA private key, or undefined for keys a CA may not use. */
export function signingAlgorithmFor(key: KeyObject): SigningAlgorithm | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'prime256v1') return ECDSA_SHA256;
  if (curve === 'secp384r1') return ECDSA_SHA384;
  return undefined;
}

/** A Name of UTF8String attributes, one per RDN, in the given order. */
export function encodeName(attributes: ReadonlyArray<readonly [Buffer, string]>): Buffer {
  return sequence(...attributes.map(([type, value]) => set(sequence(type, utf8String(value)))));
}

export function encodeExtension(extnId: Buffer, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(extnId, bool(true), octetString(value)) : sequence(extnId, octetString(value));
}

/** basicConstraints; `cA FALSE` is the DEFAULT, so DER encodes it as an empty SEQUENCE. */
export const basicConstraints = (ca: boolean): Buffer =>
  encodeExtension(OID.basicConstraints, true, ca ? sequence(bool(true)) : sequence());

// keyUsage bits are numbered from the most significant bit: digitalSignature(0),
// keyCertSign(5), cRLSign(6). DER drops trailing zero bits, hence the unused counts.
export const KEY_USAGE_DIGITAL_SIGNATURE = encodeExtension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7));
export const KEY_USAGE_CERT_AND_CRL_SIGN = encodeExtension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1));

export const EXT_KEY_USAGE_SERVER_AND_CLIENT = encodeExtension(
  OID.extKeyUsage,
  false,
  sequence(OID.serverAuth, OID.clientAuth),
);

/** subjectAltName with a single uniformResourceIdentifier ([6] IA5String). */
export const subjectAltNameUri = (uri: string): Buffer =>
  encodeExtension(OID.subjectAltName, false, sequence(tlv(0x86, Buffer.from(uri, 'ascii'))));

export const subjectKeyIdentifier = (keyId: Buffer): Buffer =>
  encodeExtension(OID.subjectKeyIdentifier, false, octetString(keyId));

/** authorityKeyIdentifier with keyIdentifier [0] only. */
export const authorityKeyIdentifier = (keyId: Buffer): Buffer =>
  encodeExtension(OID.authorityKeyIdentifier, false, sequence(tlv(0x80, keyId)));

/**
 * RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. SHA-1 is
 * fine here: it names a key, it does not protect anything.
 */
export function keyIdentifier(spki: Buffer): Buffer {
  const [, keyBits] = children(spki, readRoot(spki, TAG.SEQUENCE)) as [Node, Node];
  return hash('sha1', bitStringBytes(spki, keyBits), 'buffer');
}

export interface TbsFields {
  /** unsigned big-endian serial (at most 20 octets, RFC 5280) */
  readonly serial: Buffer;
  readonly algorithm: SigningAlgorithm;
  /** encoded Name, copied byte for byte from the issuer's subject */
  readonly issuer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: Buffer;
  readonly spki: Buffer;
  /** encoded Extension elements */
  readonly extensions: readonly Buffer[];
}

/** TBSCertificate (v3), signed by `key`, wrapped as a Certificate. Returns DER. */
export function signCertificate(fields: TbsFields, key: KeyObject): Buffer {
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(fields.serial),
    fields.algorithm.algorithmIdentifier,
    fields.issuer,
    sequence(x509Time(fields.notBefore), x509Time(fields.notAfter)),
    fields.subject,
    fields.spki,
    explicit(3, sequence(...fields.extensions)),
  );
  // ECDSA signatures come DER-encoded by default. The key goes in bare: an
  // options object costs Node two thrown-and-caught brand checks (~10 µs).
  const signature = sign(fields.algorithm.hash, tbs, key);
  return sequence(tbs, fields.algorithm.algorithmIdentifier, bitString(signature));
}
