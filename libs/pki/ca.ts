import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { classifyPublicKey } from './key-policy';
import { decodePem, encodePem } from './pem';
import { parseSpiffeId } from './spiffe-id';
import { spkiOf } from './spki';
import {
  EXT_KEY_USAGE_SERVER_AND_CLIENT,
  KEY_USAGE_CERT_AND_CRL_SIGN,
  KEY_USAGE_DIGITAL_SIGNATURE,
  OID,
  authorityKeyIdentifier,
  basicConstraints,
  encodeName,
  keyIdentifier,
  signCertificate,
  signingAlgorithmFor,
  subjectAltNameUri,
  subjectKeyIdentifier,
  type SigningAlgorithm,
} from './x509-encode';
import { readCertificate, subjectKeyId, uriSans } from './x509-read';

// The trust domain's certificate authority and the two certificate profiles
// of the SPIFFE X509-SVID standard: the signing (CA) certificate and the
// leaf SVID. The CA is a self-signed root, so an agent's chain is its leaf
// alone and the bundle (`bundlePem()`) is this one certificate.
//
// Issuance is synchronous and takes tens of microseconds (README has the
// measurement): the TBSCertificate is concatenated from pre-encoded parts and
// signed with node:crypto, because the login path issues one SVID per login.

/**
 * Tolerated clock skew: certificates start this long before `now`, so a
 * node whose clock is a little behind still accepts a fresh certificate.
 */
export const BACKDATE_SECONDS = 60;

const ORGANIZATION = 'attestd';
/** Every SVID has this subject; the identity is the URI SAN (SPIFFE ignores the subject). */
const LEAF_SUBJECT = encodeName([[OID.organizationName, ORGANIZATION]]);

export interface GeneratedCa {
  readonly certificatePem: string;
  /** PKCS#8; seal it with sealPrivateKey before storing it */
  readonly privateKeyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CertificateAuthorityOptions {
  readonly certificatePem: string;
  /** PKCS#8 PEM or a private KeyObject; EC P-256 or P-384 */
  readonly privateKey: string | KeyObject;
}

export interface IssueX509SvidRequest {
  /** must be in the CA's trust domain and have a path */
  readonly spiffeId: string;
  /** ParsedCsr.publicKey: the CSR's verified key */
  readonly subjectPublicKey: KeyObject;
  readonly ttlSeconds: number;
  readonly now: Date;
  /**
   * The serial to use, chosen beforehand with `newSvidSerial()` when it must
   * be known (recorded) before the certificate is signed; a fresh one if absent.
   */
  readonly serialHex?: string;
}

export interface IssuedX509Svid {
  readonly certPem: string;
  /** lower-case hex, 32 digits */
  readonly serialHex: string;
  readonly notBefore: Date;
  /** now + ttl, capped at the CA's own notAfter */
  readonly notAfter: Date;
  /**
   * What the agent presents: the leaf alone. The CA is a root, so it belongs
   * in the trust bundle, not the chain (a chain never carries its anchor).
   * Kept as a separate field so intermediates can be added without an API change.
   */
  readonly chainPem: string;
}

/** A new P-256 key and self-signed CA certificate for `trustDomain`, valid from now-60 s to now+ttl. */
export function generateCaKey(trustDomain: string, now: Date, ttlSeconds: number): GeneratedCa {
  const td = parseSpiffeId(`spiffe://${trustDomain}`);
  if (td.path !== '') throw new Error(`ca: "${trustDomain}" is not a trust domain name`);
  checkTtl(ttlSeconds);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const keyId = keyIdentifier(spki);
  const name = encodeName([
    [OID.organizationName, ORGANIZATION],
    [OID.commonName, trustDomain],
  ]);
  const notBefore = new Date(wholeSeconds(now) - BACKDATE_SECONDS * 1000);
  const notAfter = new Date(wholeSeconds(now) + ttlSeconds * 1000);
  const der = signCertificate(
    {
      serial: randomSerial(),
      algorithm: signingAlgorithmFor(privateKey)!,
      issuer: name,
      notBefore,
      notAfter,
      subject: name,
      spki,
      extensions: [
        basicConstraints(true),
        KEY_USAGE_CERT_AND_CRL_SIGN,
        subjectAltNameUri(td.id),
        subjectKeyIdentifier(keyId),
        authorityKeyIdentifier(keyId),
      ],
    },
    privateKey,
  );
  return {
    certificatePem: encodePem('CERTIFICATE', der),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    notBefore,
    notAfter,
  };
}

export class CertificateAuthority {
  readonly trustDomain: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  private readonly certificateDer: Buffer;
  private readonly key: KeyObject;
  private readonly algorithm: SigningAlgorithm;
  private readonly subject: Buffer;
  /** extensions every SVID carries, encoded once */
  private readonly fixedExtensions: readonly Buffer[];

  /** Validates the pair and throws an Error naming the problem; a server must not start with a bad CA. */
  constructor(options: CertificateAuthorityOptions) {
    const blocks = safely(() => decodePem(options.certificatePem), 'certificatePem is not PEM');
    if (blocks.length !== 1 || blocks[0]!.label !== 'CERTIFICATE') {
      throw new Error('ca: certificatePem must hold exactly one CERTIFICATE');
    }
    this.certificateDer = blocks[0]!.der;
    const certificate = safely(() => new X509Certificate(this.certificateDer), 'certificate cannot be parsed');
    if (!certificate.ca) throw new Error('ca: certificate is not a CA (basicConstraints cA is not true)');
    if (!certificate.checkIssued(certificate) || !certificate.verify(certificate.publicKey)) {
      throw new Error('ca: certificate is not self-signed; only a root CA is supported');
    }

    const privateKey = options.privateKey;
    this.key =
      typeof privateKey === 'string'
        ? safely(() => createPrivateKey(privateKey), 'private key cannot be read (expected PKCS#8 PEM)')
        : privateKey;
    if (this.key.type !== 'private') throw new Error('ca: privateKey is not a private key');
    const algorithm = signingAlgorithmFor(this.key);
    if (algorithm === undefined) throw new Error('ca: private key must be EC P-256 or P-384');
    this.algorithm = algorithm;
    if (!certificate.checkPrivateKey(this.key)) throw new Error('ca: private key does not match the certificate');

    const fields = safely(() => readCertificate(this.certificateDer), 'certificate cannot be parsed');
    const sans = safely(() => uriSans(fields), 'subjectAltName cannot be parsed');
    const trustDomainId =
      sans.length === 1 ? safely(() => parseSpiffeId(sans[0]!), 'URI SAN is not a SPIFFE ID') : undefined;
    if (trustDomainId === undefined || trustDomainId.path !== '') {
      throw new Error('ca: certificate must have exactly one URI SAN, spiffe://<trust domain>');
    }
    this.trustDomain = trustDomainId.trustDomain;
    this.subject = fields.subject;
    this.notBefore = certificate.validFromDate;
    this.notAfter = certificate.validToDate;
    const keyId =
      safely(() => subjectKeyId(fields), 'subjectKeyIdentifier cannot be parsed') ?? keyIdentifier(fields.spki);
    this.fixedExtensions = [
      basicConstraints(false),
      KEY_USAGE_DIGITAL_SIGNATURE,
      EXT_KEY_USAGE_SERVER_AND_CLIENT,
      authorityKeyIdentifier(keyId),
    ];
  }

  /** The trust bundle: this CA's certificate. */
  bundlePem(): string {
    return encodePem('CERTIFICATE', this.certificateDer);
  }

  /**
   * The notAfter an SVID issued at `now` for `ttlSeconds` gets: now (whole
   * seconds) + ttl, capped at this CA's notAfter, since an SVID must not
   * outlive its issuer (validators would reject it early anyway). Throws as
   * `issueX509Svid` does for a bad ttl or a `now` outside the CA's validity,
   * so a caller that asks first learns before it records anything.
   */
  svidNotAfter(now: Date, ttlSeconds: number): Date {
    checkTtl(ttlSeconds);
    const at = wholeSeconds(now);
    if (at < this.notBefore.getTime() || at >= this.notAfter.getTime()) {
      throw new Error(`ca: the CA certificate is not valid at ${now.toISOString()}`);
    }
    return new Date(Math.min(at + ttlSeconds * 1000, this.notAfter.getTime()));
  }

  /**
   * Issues an X509-SVID. The caller has already authenticated the node and
   * chosen the ID; a violation here is a server bug, so it throws a plain Error.
   */
  issueX509Svid(request: IssueX509SvidRequest): IssuedX509Svid {
    const id = parseSpiffeId(request.spiffeId);
    if (id.trustDomain !== this.trustDomain) {
      throw new Error(`ca: ${request.spiffeId} is not in trust domain ${this.trustDomain}`);
    }
    // X509-SVID §3: a leaf's SPIFFE ID has a path; the bare ID names the trust domain.
    if (id.path === '') throw new Error('ca: an SVID needs a SPIFFE ID with a path');
    const classified = classifyPublicKey(request.subjectPublicKey);
    if (!classified.ok) throw new Error(`ca: subject key refused: ${classified.reason}`);
    const notAfter = this.svidNotAfter(request.now, request.ttlSeconds);
    const serial = request.serialHex === undefined ? randomSerial() : serialFromHex(request.serialHex);

    const now = wholeSeconds(request.now);
    const spki = spkiOf(request.subjectPublicKey);
    const notBefore = new Date(Math.max(now - BACKDATE_SECONDS * 1000, this.notBefore.getTime()));
    const der = signCertificate(
      {
        serial,
        algorithm: this.algorithm,
        issuer: this.subject,
        notBefore,
        notAfter,
        subject: LEAF_SUBJECT,
        spki,
        extensions: [...this.fixedExtensions, subjectAltNameUri(id.id), subjectKeyIdentifier(keyIdentifier(spki))],
      },
      this.key,
    );
    const certPem = encodePem('CERTIFICATE', der);
    return { certPem, serialHex: serial.toString('hex'), notBefore, notAfter, chainPem: certPem };
  }
}

/**
 * 16 random octets, top bit clear so the INTEGER is positive without a sign
 * octet, first octet non-zero so it is always 32 hex digits. 126+ random bits.
 */
function randomSerial(): Buffer {
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f || 0x01;
  return serial;
}

/** A serial for `IssueX509SvidRequest.serialHex`, as `issueX509Svid` would choose it: lower-case hex, 32 digits. */
export function newSvidSerial(): string {
  return randomSerial().toString('hex');
}

/** A serial of the form `randomSerial()` makes; anything else is a caller's bug. */
function serialFromHex(serialHex: string): Buffer {
  if (!/^(?!00)[0-7][0-9a-f]{31}$/.test(serialHex))
    throw new Error('ca: serialHex must be 32 lower-case hex digits of a positive serial, first octet non-zero');
  return Buffer.from(serialHex, 'hex');
}

function checkTtl(ttlSeconds: number): void {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0)
    throw new Error('ca: ttlSeconds must be a positive integer');
}

/** Certificates carry whole seconds; rounding down keeps notAfter = now + ttl exact. */
function wholeSeconds(date: Date): number {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new Error('ca: now is not a valid date');
  return Math.floor(ms / 1000) * 1000;
}

function safely<T>(run: () => T, problem: string): T {
  try {
    return run();
  } catch {
    throw new Error(`ca: ${problem}`);
  }
}
