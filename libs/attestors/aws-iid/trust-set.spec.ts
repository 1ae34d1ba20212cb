import { X509Certificate } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BUILT_IN_CERTS_DIR, IidTrustSet, IidTrustSetError, builtInCertificates } from './trust-set';
import { testSigner } from './testing/iid-signer';

const shippedFiles = readdirSync(BUILT_IN_CERTS_DIR).filter((f) => f.endsWith('.rsa2048.pem'));

function buildError(run: () => unknown): IidTrustSetError {
  try {
    run();
  } catch (error) {
    if (error instanceof IidTrustSetError) return error;
    throw error;
  }
  throw new Error('expected an IidTrustSetError');
}

describe('built-in certificates', () => {
  it('ships one certificate per region listed in certs/SOURCES.md', () => {
    const listed = [
      ...readFileSync(join(BUILT_IN_CERTS_DIR, 'SOURCES.md'), 'utf8').matchAll(/^\| `([a-z0-9-]+)` \|/gm),
    ].map((m) => m[1]);
    expect(shippedFiles.map((f) => f.replace('.rsa2048.pem', '')).sort()).toEqual([...listed].sort());
    expect(shippedFiles.length).toBeGreaterThanOrEqual(39);
  });

  it.each(shippedFiles)('parses %s as an RSA-2048 certificate with AWS as subject', (file) => {
    const certificate = new X509Certificate(readFileSync(join(BUILT_IN_CERTS_DIR, file)));
    expect(certificate.publicKey.asymmetricKeyType).toBe('rsa');
    expect(certificate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(certificate.subject).toContain('O=Amazon Web Services LLC');
  });

  it('gives the trust set a region, with one key, for each shipped file', () => {
    const trust = IidTrustSet.builtIn();
    expect(trust.regions()).toEqual(shippedFiles.map((f) => f.replace('.rsa2048.pem', '')).sort());
    for (const region of trust.regions()) expect(trust.forRegion(region)).toHaveLength(1);
    expect(trust.hasWildcard).toBe(false);
    expect(trust.forRegion('xx-nowhere-1')).toEqual([]);
  });

  it('reads the files once per process', () => {
    expect(builtInCertificates()).toBe(builtInCertificates());
  });

  it('does not treat an inherited property name as a region', () => {
    expect(IidTrustSet.builtIn().forRegion('constructor')).toEqual([]);
  });
});

describe('IidTrustSet.build with an AwsIidCertificates spec', () => {
  const pem = () => testSigner('added').certificatePem;

  it('adds a certificate to a region that has a built-in one', () => {
    const trust = IidTrustSet.build({
      replaceBuiltIn: false,
      certificates: [{ regions: ['us-east-1', 'zz-new-1'], pem: pem() }],
    });
    expect(trust.forRegion('us-east-1')).toHaveLength(2);
    expect(trust.forRegion('zz-new-1')).toHaveLength(1);
    expect(trust.forRegion('eu-west-1')).toHaveLength(1);
  });

  it('keeps the built-ins when replaceBuiltIn is absent', () => {
    const trust = IidTrustSet.build({ certificates: [{ regions: ['us-east-1'], pem: pem() }] });
    expect(trust.forRegion('eu-west-1')).toHaveLength(1);
  });

  it('removes every built-in with replaceBuiltIn: true', () => {
    const trust = IidTrustSet.build({ replaceBuiltIn: true, certificates: [{ regions: ['us-east-1'], pem: pem() }] });
    expect(trust.regions()).toEqual(['us-east-1']);
    expect(trust.forRegion('us-east-1')).toHaveLength(1);
    expect(trust.forRegion('eu-west-1')).toEqual([]);
  });

  it('applies a "*" certificate to every region, known or not', () => {
    const trust = IidTrustSet.build({ replaceBuiltIn: false, certificates: [{ regions: ['*'], pem: pem() }] });
    expect(trust.hasWildcard).toBe(true);
    expect(trust.forRegion('us-east-1')).toHaveLength(2);
    expect(trust.forRegion('xx-future-9')).toHaveLength(1);
  });

  it('rejects a bad PEM, naming the entry index', () => {
    const error = buildError(() =>
      IidTrustSet.build({
        certificates: [
          { regions: ['us-east-1'], pem: pem() },
          { regions: ['us-east-1'], pem: '-----BEGIN CERTIFICATE-----\nMIIBbad=\n-----END CERTIFICATE-----\n' },
        ],
      }),
    );
    expect(error.problems).toEqual([
      {
        index: 1,
        path: '/spec/certificates/1/pem',
        message: expect.stringMatching(/^pem is not a valid X.509 certificate/),
      },
    ]);
    expect(error.message).toMatch(/^AwsIidCertificates: certificates\[1\]: pem is not a valid X.509 certificate/);
  });

  it('lists every bad entry, not only the first', () => {
    const error = buildError(() =>
      IidTrustSet.build({
        certificates: [
          { regions: [], pem: pem() },
          { regions: ['us-east-1'], pem: 'not a pem' },
        ],
      }),
    );
    expect(error.problems.map((p) => p.path)).toEqual(['/spec/certificates/0/regions', '/spec/certificates/1/pem']);
  });

  it('rejects a PEM holding two certificates (the second would be silently ignored)', () => {
    const error = buildError(() =>
      IidTrustSet.build({ certificates: [{ regions: ['us-east-1'], pem: pem() + pem() }] }),
    );
    expect(error.problems[0]).toMatchObject({ index: 0, message: 'pem must hold exactly one CERTIFICATE block' });
  });

  it('rejects a PEM that is a private key, not a certificate', () => {
    const error = buildError(() =>
      IidTrustSet.build({ certificates: [{ regions: ['us-east-1'], pem: testSigner('added').keyPem }] }),
    );
    expect(error.problems[0]).toMatchObject({ index: 0, message: 'pem must hold exactly one CERTIFICATE block' });
  });

  it('rejects a certificate whose key is not RSA', () => {
    const ec = testSigner('ec-cert', { subject: '/CN=ec', keyAlgorithm: 'ec' });
    const error = buildError(() =>
      IidTrustSet.build({ certificates: [{ regions: ['us-east-1'], pem: ec.certificatePem }] }),
    );
    expect(error.problems[0]).toMatchObject({ index: 0, message: 'certificate key is ec, not RSA' });
  });

  it('rejects a region that is not a region name or "*"', () => {
    const error = buildError(() => IidTrustSet.build({ certificates: [{ regions: ['US East'], pem: pem() }] }));
    expect(error.problems[0]).toMatchObject({ path: '/spec/certificates/0/regions' });
  });
});
