import 'reflect-metadata'; // @peculiar/x509 (used here only as an independent parser) needs it loaded first
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import * as px from '@peculiar/x509';
import { BACKDATE_SECONDS, CertificateAuthority, generateCaKey, newSvidSerial } from './ca';
import { parseCsr } from './csr';
import { opensslCa, opensslCsr, opensslVerify } from './testing';

const TD = 'example.org';
const ID = 'spiffe://example.org/agent/join_token/abc';
const NOW = new Date('2030-01-02T03:04:05.000Z');
const DAY = 24 * 3600;

const svidKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;

describe('generateCaKey', () => {
  const made = generateCaKey(TD, NOW, 30 * DAY);
  const cert = new X509Certificate(made.certificatePem);
  const parsed = new px.X509Certificate(made.certificatePem);

  it('makes a self-signed CA certificate that OpenSSL accepts as a trust anchor', () => {
    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(made.privateKeyPem))).toBe(true);
    expect(opensslVerify(made.certificatePem, made.certificatePem, NOW)).toMatchObject({ ok: true });
  });

  it('names the trust domain as its only URI SAN', () => {
    expect(cert.subjectAltName).toBe(`URI:spiffe://${TD}`);
  });

  it('is valid from now-60 s to now+ttl', () => {
    expect(cert.validFromDate).toEqual(new Date(NOW.getTime() - BACKDATE_SECONDS * 1000));
    expect(cert.validToDate).toEqual(new Date(NOW.getTime() + 30 * DAY * 1000));
    expect(made.notBefore).toEqual(cert.validFromDate);
    expect(made.notAfter).toEqual(cert.validToDate);
  });

  it('has critical basicConstraints cA=true and critical keyUsage keyCertSign+cRLSign', () => {
    const basic = parsed.getExtension(px.BasicConstraintsExtension)!;
    expect([basic.ca, basic.critical]).toEqual([true, true]);
    const usage = parsed.getExtension(px.KeyUsagesExtension)!;
    expect(usage.critical).toBe(true);
    expect(usage.usages).toBe(px.KeyUsageFlags.keyCertSign | px.KeyUsageFlags.cRLSign);
  });

  it('has a subject key identifier equal to its authority key identifier', () => {
    const ski = parsed.getExtension(px.SubjectKeyIdentifierExtension)!.keyId;
    expect(ski).toMatch(/^[0-9a-f]{40}$/);
    expect(parsed.getExtension(px.AuthorityKeyIdentifierExtension)!.keyId).toBe(ski);
  });

  it('uses a positive 16-byte random serial', () => {
    expect(cert.serialNumber).toMatch(/^[0-7][0-9A-F]{31}$/);
    expect(new X509Certificate(generateCaKey(TD, NOW, DAY).certificatePem).serialNumber).not.toBe(cert.serialNumber);
  });

  it.each(['Example.org', 'example.org:8443', 'example.org/path', ''])('refuses the trust domain %j', (td) => {
    expect(() => generateCaKey(td, NOW, DAY)).toThrow(/^(spiffe id|ca):/);
  });

  it('refuses a non-positive ttl', () => {
    expect(() => generateCaKey(TD, NOW, 0)).toThrow('ca: ttlSeconds must be a positive integer');
  });
});

describe('CertificateAuthority', () => {
  const made = generateCaKey(TD, NOW, 30 * DAY);
  const ca = new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: made.privateKeyPem });
  const caCert = new X509Certificate(ca.bundlePem());

  describe('issueX509Svid', () => {
    const subject = svidKey();
    const svid = ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: subject, ttlSeconds: 3600, now: NOW });
    const cert = new X509Certificate(svid.certPem);
    const parsed = new px.X509Certificate(svid.certPem);

    it('signs the SVID with the CA key and names the CA as issuer', () => {
      expect(cert.verify(caCert.publicKey)).toBe(true);
      expect(cert.checkIssued(caCert)).toBe(true);
    });

    it('chains to the bundle according to openssl verify -x509_strict, for client and server use', () => {
      for (const purpose of ['sslclient', 'sslserver']) {
        const result = opensslVerify(ca.bundlePem(), svid.certPem, NOW, ['-purpose', purpose]);
        expect(result).toEqual({ ok: true, output: 'svid.pem: OK\n' });
      }
    });

    it('does not chain to another CA (the openssl check is not vacuous)', () => {
      const other = generateCaKey(TD, NOW, DAY);
      expect(opensslVerify(other.certificatePem, svid.certPem, NOW).ok).toBe(false);
    });

    it('has exactly one URI SAN, the SPIFFE ID, and no other SAN', () => {
      expect(cert.subjectAltName).toBe(`URI:${ID}`);
      const names = parsed.getExtension(px.SubjectAlternativeNameExtension)!.names.items;
      expect(names.map((n) => [n.type, n.value])).toEqual([['url', ID]]);
    });

    it('is not a CA: critical basicConstraints cA=false', () => {
      expect(cert.ca).toBe(false);
      const basic = parsed.getExtension(px.BasicConstraintsExtension)!;
      expect([basic.ca, basic.critical]).toEqual([false, true]);
    });

    it('has critical keyUsage digitalSignature only, and extKeyUsage serverAuth+clientAuth', () => {
      const usage = parsed.getExtension(px.KeyUsagesExtension)!;
      expect([usage.usages, usage.critical]).toEqual([px.KeyUsageFlags.digitalSignature, true]);
      expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    });

    it('links SKI/AKI: its AKI is the CA SKI, its SKI is the SHA-1 of its key', () => {
      const caParsed = new px.X509Certificate(ca.bundlePem());
      const caSki = caParsed.getExtension(px.SubjectKeyIdentifierExtension)!.keyId;
      expect(parsed.getExtension(px.AuthorityKeyIdentifierExtension)!.keyId).toBe(caSki);
      const rawKey = subject.export({ format: 'jwk' });
      const point = Buffer.concat([
        Buffer.from([4]),
        Buffer.from(rawKey.x!, 'base64url'),
        Buffer.from(rawKey.y!, 'base64url'),
      ]);
      expect(parsed.getExtension(px.SubjectKeyIdentifierExtension)!.keyId).toBe(
        createHash('sha1').update(point).digest('hex'),
      );
    });

    it('certifies the subject key it was given', () => {
      expect(cert.publicKey.equals(subject)).toBe(true);
    });

    it('has notAfter = now + ttl and notBefore = now - 60 s, as reported', () => {
      expect(cert.validToDate).toEqual(new Date(NOW.getTime() + 3600 * 1000));
      expect(cert.validFromDate).toEqual(new Date(NOW.getTime() - BACKDATE_SECONDS * 1000));
      expect(svid.notAfter).toEqual(cert.validToDate);
      expect(svid.notBefore).toEqual(cert.validFromDate);
    });

    it('reports the serial as lower-case hex and the chain as the leaf alone', () => {
      expect(svid.serialHex).toMatch(/^[0-9a-f]{32}$/);
      expect(svid.serialHex).toBe(cert.serialNumber.toLowerCase());
      expect(svid.chainPem).toBe(svid.certPem);
    });

    it('gives every SVID a different serial', () => {
      const serials = new Set(
        Array.from(
          { length: 500 },
          () => ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: subject, ttlSeconds: 60, now: NOW }).serialHex,
        ),
      );
      expect(serials.size).toBe(500);
    });

    it('certifies the key of an openssl CSR and ignores the SANs that CSR asked for', async () => {
      const csr = opensslCsr('rsa:2048', [
        '-addext',
        'subjectAltName=URI:spiffe://evil.example/admin,DNS:evil.example',
      ]);
      const { publicKey } = await parseCsr(csr.csrPem);
      const issued = ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: publicKey, ttlSeconds: 600, now: NOW });
      const rsaCert = new X509Certificate(issued.certPem);
      expect(rsaCert.subjectAltName).toBe(`URI:${ID}`);
      expect(rsaCert.checkPrivateKey(createPrivateKey(csr.keyPem))).toBe(true);
      expect(opensslVerify(ca.bundlePem(), issued.certPem, NOW).ok).toBe(true);
    });

    it('drops milliseconds of now (certificates carry whole seconds)', () => {
      const issued = ca.issueX509Svid({
        spiffeId: ID,
        subjectPublicKey: subject,
        ttlSeconds: 60,
        now: new Date(NOW.getTime() + 999),
      });
      expect(issued.notAfter).toEqual(new Date(NOW.getTime() + 60 * 1000));
    });
  });

  it('caps notAfter at the CA notAfter', () => {
    const issued = ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: svidKey(), ttlSeconds: 365 * DAY, now: NOW });
    expect(issued.notAfter).toEqual(ca.notAfter);
    expect(new X509Certificate(issued.certPem).validToDate).toEqual(caCert.validToDate);
  });

  describe('a serial and a notAfter known before signing', () => {
    it('issues with the serial chosen beforehand by newSvidSerial', () => {
      const serialHex = newSvidSerial();
      expect(serialHex).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(newSvidSerial()).not.toBe(serialHex);
      const issued = ca.issueX509Svid({
        spiffeId: ID,
        subjectPublicKey: svidKey(),
        ttlSeconds: 60,
        now: NOW,
        serialHex,
      });
      expect(issued.serialHex).toBe(serialHex);
      expect(new X509Certificate(issued.certPem).serialNumber.toLowerCase()).toBe(serialHex);
      expect(opensslVerify(ca.bundlePem(), issued.certPem, NOW).ok).toBe(true);
    });

    it.each([
      ['upper-case', '7F'.padEnd(32, 'A')],
      ['short', '7f'.padEnd(30, 'a')],
      ['negative (top bit set)', '80'.padEnd(32, '0')],
      ['zero-led (not 32 digits in DER)', '007f'.padEnd(32, '0')],
      ['not hex', 'zz'.padEnd(32, '0')],
    ])('refuses a %s serialHex', (_name, serialHex) => {
      expect(() =>
        ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: svidKey(), ttlSeconds: 60, now: NOW, serialHex }),
      ).toThrow(/^ca: serialHex must be/);
    });

    it.each([
      ['now + ttl', NOW, 3600],
      ['whole seconds of now', new Date(NOW.getTime() + 999), 3600],
      ["the CA's notAfter as the cap", NOW, 365 * DAY],
    ])('tells the notAfter issueX509Svid gives: %s', (_name, now, ttlSeconds) => {
      const issued = ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: svidKey(), ttlSeconds, now });
      expect(ca.svidNotAfter(now, ttlSeconds)).toEqual(issued.notAfter);
      expect(ca.svidNotAfter(now, ttlSeconds)).toEqual(new X509Certificate(issued.certPem).validToDate);
    });

    it('refuses, as issueX509Svid does, a bad ttl or a now outside the CA validity', () => {
      expect(() => ca.svidNotAfter(NOW, 0)).toThrow('ca: ttlSeconds must be a positive integer');
      expect(() => ca.svidNotAfter(new Date(ca.notAfter.getTime() + 1000), 60)).toThrow(
        /^ca: the CA certificate is not valid at/,
      );
    });
  });

  it('refuses a SPIFFE ID in another trust domain', () => {
    expect(() =>
      ca.issueX509Svid({ spiffeId: 'spiffe://other.org/a', subjectPublicKey: svidKey(), ttlSeconds: 60, now: NOW }),
    ).toThrow('ca: spiffe://other.org/a is not in trust domain example.org');
  });

  it('refuses the bare trust domain ID', () => {
    expect(() =>
      ca.issueX509Svid({ spiffeId: `spiffe://${TD}`, subjectPublicKey: svidKey(), ttlSeconds: 60, now: NOW }),
    ).toThrow('ca: an SVID needs a SPIFFE ID with a path');
  });

  it('refuses an invalid SPIFFE ID', () => {
    expect(() =>
      ca.issueX509Svid({
        spiffeId: 'spiffe://example.org/a/../b',
        subjectPublicKey: svidKey(),
        ttlSeconds: 60,
        now: NOW,
      }),
    ).toThrow(/^spiffe id:/);
  });

  it('refuses a subject key the policy does not accept', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    expect(() => ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: weak, ttlSeconds: 60, now: NOW })).toThrow(
      /^ca: subject key refused: RSA key of 1024 bits/,
    );
  });

  it('refuses to issue once the CA has expired', () => {
    const later = new Date(ca.notAfter.getTime() + 1000);
    expect(() => ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: svidKey(), ttlSeconds: 60, now: later })).toThrow(
      /^ca: the CA certificate is not valid at/,
    );
  });

  it('refuses a non-positive ttl', () => {
    expect(() => ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: svidKey(), ttlSeconds: -1, now: NOW })).toThrow(
      'ca: ttlSeconds must be a positive integer',
    );
  });

  describe('construction', () => {
    it('accepts the private key as a KeyObject', () => {
      const fromKeyObject = new CertificateAuthority({
        certificatePem: made.certificatePem,
        privateKey: createPrivateKey(made.privateKeyPem),
      });
      expect(fromKeyObject.trustDomain).toBe(TD);
    });

    it('accepts a P-384 CA made by openssl and issues SVIDs that openssl verifies', () => {
      const external = opensslCa('P-384', 'corp.example');
      const externalCa = new CertificateAuthority({
        certificatePem: external.certificatePem,
        privateKey: external.keyPem,
      });
      const now = new Date();
      const issued = externalCa.issueX509Svid({
        spiffeId: 'spiffe://corp.example/node/1',
        subjectPublicKey: svidKey(),
        ttlSeconds: 600,
        now,
      });
      expect(new px.X509Certificate(issued.certPem).signatureAlgorithm).toMatchObject({
        name: 'ECDSA',
        hash: { name: 'SHA-384' },
      });
      expect(opensslVerify(externalCa.bundlePem(), issued.certPem, now)).toMatchObject({ ok: true });
    });

    it('refuses a private key that does not match the certificate', () => {
      const other = generateCaKey(TD, NOW, DAY);
      expect(
        () => new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: other.privateKeyPem }),
      ).toThrow('ca: private key does not match the certificate');
    });

    it('refuses an RSA CA key', () => {
      const external = opensslCa('rsa:2048', TD);
      expect(
        () => new CertificateAuthority({ certificatePem: external.certificatePem, privateKey: external.keyPem }),
      ).toThrow('ca: private key must be EC P-256 or P-384');
    });

    it('refuses a certificate that is not a CA', () => {
      const svid = ca.issueX509Svid({ spiffeId: ID, subjectPublicKey: svidKey(), ttlSeconds: 60, now: NOW });
      expect(() => new CertificateAuthority({ certificatePem: svid.certPem, privateKey: made.privateKeyPem })).toThrow(
        'ca: certificate is not a CA (basicConstraints cA is not true)',
      );
    });

    it('refuses a CA certificate without a spiffe://<trust domain> URI SAN', () => {
      const external = opensslCa('P-256', 'example.org/not-a-trust-domain-id');
      expect(
        () => new CertificateAuthority({ certificatePem: external.certificatePem, privateKey: external.keyPem }),
      ).toThrow('ca: certificate must have exactly one URI SAN, spiffe://<trust domain>');
    });

    it.each([
      ['garbage', 'not pem'],
      ['two certificates', `${made.certificatePem}${made.certificatePem}`],
      ['a private key', made.privateKeyPem],
    ])('refuses certificatePem that is %s', (_name, pem) => {
      expect(() => new CertificateAuthority({ certificatePem: pem, privateKey: made.privateKeyPem })).toThrow(
        /^ca: certificatePem/,
      );
    });

    it('refuses an unreadable private key', () => {
      expect(() => new CertificateAuthority({ certificatePem: made.certificatePem, privateKey: 'nope' })).toThrow(
        'ca: private key cannot be read (expected PKCS#8 PEM)',
      );
    });
  });
});
