import { DerError, TAG, children, content, expect, raw, readRoot, type Node } from './der';
import { OID } from './x509-encode';

// Reads the few certificate fields Node's crypto.X509Certificate does not
// expose in a usable form: the exact subject bytes (to copy into issued
// certificates as their issuer), the key identifier, the serial as raw
// octets, and URI SANs (Node renders SANs as one escaped string, which is
// not something to parse for a security decision). Signature and validity
// checks stay with X509Certificate (OpenSSL).

export interface Extension {
  readonly critical: boolean;
  /** the extnValue OCTET STRING content */
  readonly value: Buffer;
}

export interface CertificateFields {
  /** lower-case hex of the serial's magnitude (no sign octet) */
  readonly serialHex: string;
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly spki: Buffer;
  /** by encoded extnID (hex) */
  readonly extensions: ReadonlyMap<string, Extension>;
}

/** Throws DerError when `der` is not a well-formed certificate. */
export function readCertificate(der: Buffer): CertificateFields {
  const [tbsNode] = children(der, readRoot(der, TAG.SEQUENCE)) as [Node?];
  if (tbsNode === undefined) throw new DerError('empty certificate');
  const tbs = children(der, expect(tbsNode, TAG.SEQUENCE));
  // version [0] is optional (v1 certificates omit it); everything after shifts by one
  const at = tbs[0]?.tag === 0xa0 ? 1 : 0;
  const [serialNode, , issuerNode, , subjectNode, spkiNode] = tbs.slice(at) as Node[];
  if (spkiNode === undefined) throw new DerError('truncated TBSCertificate');
  let serial = content(der, expect(serialNode!, TAG.INTEGER));
  if (serial.length > 1 && serial[0] === 0) serial = serial.subarray(1);

  const extensions = new Map<string, Extension>();
  const extensionsNode = tbs.slice(at + 6).find((node) => node.tag === 0xa3);
  if (extensionsNode !== undefined) {
    const [list] = children(der, extensionsNode) as [Node?];
    for (const extension of list ? children(der, expect(list, TAG.SEQUENCE)) : []) {
      const parts = children(der, expect(extension, TAG.SEQUENCE));
      const critical = parts.length === 3 && content(der, expect(parts[1]!, TAG.BOOLEAN))[0] === 0xff;
      const value = content(der, expect(parts[parts.length - 1]!, TAG.OCTET_STRING));
      extensions.set(raw(der, expect(parts[0]!, TAG.OID)).toString('hex'), { critical, value });
    }
  }
  return {
    serialHex: serial.toString('hex'),
    issuer: raw(der, expect(issuerNode!, TAG.SEQUENCE)),
    subject: raw(der, expect(subjectNode!, TAG.SEQUENCE)),
    spki: raw(der, expect(spkiNode, TAG.SEQUENCE)),
    extensions,
  };
}

/** Every uniformResourceIdentifier in the subjectAltName extension. */
export function uriSans(fields: CertificateFields): string[] {
  const extension = fields.extensions.get(OID.subjectAltName.toString('hex'));
  if (extension === undefined) return [];
  const names = extension.value;
  return (
    children(names, readRoot(names, TAG.SEQUENCE))
      .filter((name) => name.tag === 0x86)
      // latin1 keeps every byte visible; non-ASCII then fails SPIFFE ID validation
      .map((name) => content(names, name).toString('latin1'))
  );
}

/** The subjectKeyIdentifier value, if the certificate has one. */
export function subjectKeyId(fields: CertificateFields): Buffer | undefined {
  const extension = fields.extensions.get(OID.subjectKeyIdentifier.toString('hex'));
  if (extension === undefined) return undefined;
  return content(extension.value, readRoot(extension.value, TAG.OCTET_STRING));
}

/** keyUsage bits as a number with digitalSignature = 0x80 (first octet only), if present. */
export function keyUsageFirstOctet(fields: CertificateFields): number | undefined {
  const extension = fields.extensions.get(OID.keyUsage.toString('hex'));
  if (extension === undefined) return undefined;
  const node = readRoot(extension.value, TAG.BIT_STRING);
  const bits = content(extension.value, node);
  return bits.length > 1 ? bits[1]! : 0;
}

/** basicConstraints pathLenConstraint, if the certificate sets one. */
export function pathLenConstraint(fields: CertificateFields): number | undefined {
  const extension = fields.extensions.get(OID.basicConstraints.toString('hex'));
  if (extension === undefined) return undefined;
  const value = extension.value;
  const integer = children(value, readRoot(value, TAG.SEQUENCE)).find((node) => node.tag === TAG.INTEGER);
  if (integer === undefined) return undefined;
  const bytes = content(value, integer);
  if (bytes.length > 2 || (bytes[0]! & 0x80) !== 0) throw new DerError('pathLenConstraint out of range');
  return bytes.reduce((n, b) => n * 256 + b, 0);
}

/** Encoded extnIDs (hex) of the critical extensions. */
export function criticalExtensions(fields: CertificateFields): string[] {
  return [...fields.extensions].filter(([, extension]) => extension.critical).map(([id]) => id);
}
