import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IidTrustSet, type AwsIidCertificatesSpec } from '../trust-set';

// Test support only (imported by *.spec.ts, never by the attestor): signs
// instance identity documents the way AWS does, with the openssl command
// line as an independent CMS encoder. `openssl cms -sign -stream -outform DER
// -nodetach -binary -md sha256` writes what IMDS serves: BER with indefinite
// lengths, the document inside as a constructed OCTET STRING, signed
// attributes (contentType, signingTime, messageDigest, ...). Keys and
// certificates are generated at run time, once per test file.

/** AWS's certificates all carry this subject (and issuer: they are self-signed). */
export const AWS_SUBJECT = '/C=US/ST=Washington State/L=Seattle/O=Amazon Web Services LLC';

export interface TestSigner {
  readonly certificatePem: string;
  readonly keyPem: string;
  readonly certificate: X509Certificate;
}

export interface SignOptions {
  /** the document beside the signature, not inside (no eContent) */
  detached?: boolean;
  /** `-noattr`: the signature covers the content directly */
  noAttributes?: boolean;
  /** default sha256; sha1 for the rejection test */
  digest?: 'sha256' | 'sha1';
  /** leave the signer's certificate out of the bag, as AWS does */
  noCerts?: boolean;
  /** `-econtent_type`: an eContentType other than id-data */
  eContentType?: string;
  /** PEM certificates to add to the bag (`-certfile`) */
  extraCertificatesPem?: string;
}

function withTmpDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'attestd-aws-iid-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(args: string[], cwd: string): Buffer {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

// `string_mask = default` makes openssl write PrintableString names like AWS's.
const REQ_CONFIG = '[req]\ndistinguished_name = dn\nstring_mask = default\nprompt = no\n[dn]\n';

const signers = new Map<string, TestSigner>();

/**
 * A self-signed RSA-2048 certificate and key, cached by `name` for the test
 * file. `serial` lets a test forge a certificate with the issuer and serial
 * number of a real one (the signer identifier an attacker would copy).
 */
export function testSigner(
  name: string,
  options: { subject?: string; serial?: string; keyAlgorithm?: 'rsa' | 'ec' } = {},
): TestSigner {
  const cached = signers.get(name);
  if (cached !== undefined) return cached;
  const made = withTmpDir((dir) => {
    writeFileSync(join(dir, 'req.cnf'), REQ_CONFIG);
    openssl(
      [
        'req',
        '-x509',
        '-config',
        'req.cnf',
        ...(options.keyAlgorithm === 'ec'
          ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']
          : ['-newkey', 'rsa:2048']),
        '-nodes',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
        '-days',
        '3650',
        '-subj',
        options.subject ?? AWS_SUBJECT,
        ...(options.serial === undefined ? [] : ['-set_serial', options.serial]),
      ],
      dir,
    );
    const certificatePem = readFileSync(join(dir, 'cert.pem'), 'utf8');
    return {
      certificatePem,
      keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
      certificate: new X509Certificate(certificatePem),
    };
  });
  signers.set(name, made);
  return made;
}

/**
 * The base64 PKCS#7 of `document` signed by `signer` (two signers for the
 * negative test), wrapped at 64 columns like IMDS's answer.
 */
export function signIid(document: string, signer: TestSigner | TestSigner[], options: SignOptions = {}): string {
  const all = Array.isArray(signer) ? signer : [signer];
  return withTmpDir((dir) => {
    writeFileSync(join(dir, 'document.json'), document);
    const signerArgs = all.flatMap((s, i) => {
      writeFileSync(join(dir, `cert${i}.pem`), s.certificatePem);
      writeFileSync(join(dir, `key${i}.pem`), s.keyPem);
      return ['-signer', `cert${i}.pem`, '-inkey', `key${i}.pem`];
    });
    const extra: string[] = [];
    if (options.noAttributes) extra.push('-noattr');
    if (options.noCerts) extra.push('-nocerts');
    if (options.eContentType !== undefined) extra.push('-econtent_type', options.eContentType);
    if (options.extraCertificatesPem !== undefined) {
      writeFileSync(join(dir, 'extra.pem'), options.extraCertificatesPem);
      extra.push('-certfile', 'extra.pem');
    }
    const common = [
      'cms',
      '-sign',
      '-binary',
      '-md',
      options.digest ?? 'sha256',
      ...signerArgs,
      ...extra,
      '-in',
      'document.json',
    ];
    let der: Buffer;
    if (options.detached) {
      // With DER output openssl always embeds the content; its S/MIME output
      // is detached, and -cmsout re-writes that signature as DER.
      openssl([...common, '-out', 'signed.txt'], dir);
      der = openssl(['cms', '-cmsout', '-inform', 'SMIME', '-in', 'signed.txt', '-outform', 'DER'], dir);
    } else {
      der = openssl([...common, '-stream', '-outform', 'DER', '-nodetach'], dir);
    }
    return wrap64(der.toString('base64'));
  });
}

export function wrap64(base64: string): string {
  return base64.replace(/.{64}/g, '$&\n').replace(/\n$/, '');
}

/** An IMDS-style document (pretty-printed as IMDS serves it); `fields` override or add, `undefined` removes. */
export function iidDocument(fields: Record<string, unknown> = {}): string {
  const region = typeof fields.region === 'string' ? fields.region : 'us-east-1';
  const base: Record<string, unknown> = {
    accountId: '123456789012',
    architecture: 'x86_64',
    availabilityZone: `${region}a`,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: 'ami-0abcdef1234567890',
    instanceId: 'i-0123456789abcdef0',
    instanceType: 't3.medium',
    kernelId: null,
    pendingTime: '2026-01-02T03:04:05Z',
    privateIp: '10.0.0.10',
    ramdiskId: null,
    region,
    version: '2017-09-30',
  };
  const merged = { ...base, ...fields };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return JSON.stringify(merged, null, 2).replace(/": /g, '" : ');
}

/** A trust set of test certificates only (`replaceBuiltIn: true`), region(s) → signer. */
export function testTrustSet(entries: { regions: string[]; signer: TestSigner }[], replaceBuiltIn = true): IidTrustSet {
  const spec: AwsIidCertificatesSpec = {
    replaceBuiltIn,
    certificates: entries.map((e) => ({ regions: e.regions, pem: e.signer.certificatePem })),
  };
  return IidTrustSet.build(spec);
}

const MESSAGE_DIGEST_ATTR = Buffer.from('06092a864886f70d01090431220420', 'hex');
const CONTENT_TYPE_ATTR = Buffer.from('301806092a864886f70d010903', 'hex');

/** Where openssl put the signed attributes and the RSA signature, found by byte pattern. */
export function signedLayout(der: Buffer): {
  attrsStart: number;
  attrsEnd: number;
  signatureStart: number;
  signatureEnd: number;
} {
  // Attributes start with contentType (DER sorts it first); the [0] header,
  // `a0 81 LL` or `a0 82 LL LL`, is right before it.
  const body = der.indexOf(CONTENT_TYPE_ATTR);
  if (body < 0) throw new Error('signedLayout: no signed attributes');
  const longForm = der[body - 3] === 0xa0 && der[body - 2] === 0x81;
  const attrsStart = longForm ? body - 3 : body - 4;
  if (der[attrsStart] !== 0xa0) throw new Error('signedLayout: unexpected layout');
  const attrsEnd = body + (longForm ? der[body - 1]! : der.readUInt16BE(body - 2));
  // then the 15-byte signature AlgorithmIdentifier and `04 82 01 00` + 256 bytes (RSA-2048)
  const header = attrsEnd + 15;
  if (der.readUInt32BE(header) !== 0x04820100) throw new Error('signedLayout: unexpected layout');
  return { attrsStart, attrsEnd, signatureStart: header + 4, signatureEnd: header + 4 + 256 };
}

/**
 * Applies `edit` to the decoded signature, then re-signs its signed
 * attributes with `signer`'s key: the attributes can say anything and still
 * carry a valid signature, so a test reaches the check after it.
 */
export function resignAttributes(signatureBase64: string, signer: TestSigner, edit: (der: Buffer) => void): string {
  const der = Buffer.from(signatureBase64.replace(/\s+/g, ''), 'base64');
  edit(der);
  const layout = signedLayout(der);
  const attrs = Buffer.from(der.subarray(layout.attrsStart, layout.attrsEnd));
  attrs[0] = 0x31;
  sign('sha256', attrs, createPrivateKey(signer.keyPem)).copy(der, layout.signatureStart);
  return wrap64(der.toString('base64'));
}

/** Replaces the messageDigest value (same length) and re-signs: valid signature, wrong digest. */
export function withMessageDigest(signatureBase64: string, signer: TestSigner, digest: Buffer): string {
  return resignAttributes(signatureBase64, signer, (der) => {
    const at = der.indexOf(MESSAGE_DIGEST_ATTR);
    if (at < 0 || digest.length !== 32) throw new Error('withMessageDigest: unexpected layout');
    digest.copy(der, at + MESSAGE_DIGEST_ATTR.length);
  });
}

/** Replaces the contentType attribute's value with another 9-byte OID (content octets) and re-signs. */
export function withContentTypeAttribute(signatureBase64: string, signer: TestSigner, oid: Buffer): string {
  return resignAttributes(signatureBase64, signer, (der) => {
    const at = der.indexOf(CONTENT_TYPE_ATTR);
    // CONTENT_TYPE_ATTR is followed by `31 0b 06 09` and the 9 octets of id-data
    if (at < 0 || oid.length !== 9) throw new Error('withContentTypeAttribute: unexpected layout');
    oid.copy(der, at + CONTENT_TYPE_ATTR.length + 4);
  });
}

/** SHA-256 of text, for building messageDigest cases. */
export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
