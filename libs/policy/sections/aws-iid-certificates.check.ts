import { joinPointer } from '../json-pointer';
import type { SchemaError } from '../schemas/schema-validator';
import type { SchemaVerdict } from '../schemas/schema-verdict';
import type { AwsIidCertificatesSpec } from '../spec-types';

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

/**
 * The PEM's shape only: one certificate block of base64. Parsing the
 * certificate itself is the aws_iid attestor's job (it owns X.509).
 */
export function checkAwsIidCertificates(spec: AwsIidCertificatesSpec, verdict: SchemaVerdict): SchemaError[] {
  const errors: SchemaError[] = [];
  spec.certificates.forEach((certificate, i) => {
    const path = joinPointer('/spec/certificates', i, 'pem');
    if (!verdict.shaped(joinPointer('/spec/certificates', i)) || !verdict.holds(path)) return;
    if (!isOnePemCertificate(certificate.pem)) {
      errors.push({ path, message: `must be one PEM certificate (${BEGIN} ... ${END})`, at: 'value' });
    }
  });
  return errors;
}

function isOnePemCertificate(pem: string): boolean {
  const text = pem.trim();
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) return false;
  const body = text.slice(BEGIN.length, text.length - END.length).replace(/\s+/g, '');
  return body.length > 0 && body.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(body);
}
