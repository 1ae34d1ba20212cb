import 'reflect-metadata';
import { execFileSync, spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { generateAgentKey, leafMatchesKey } from './keys';
import { issueSvid, newCertificateAuthority } from './testing/fake-attestd';

/**
 * `openssl req -verify` exits 0 whether or not the self-signature verifies
 * (OpenSSL 3.0); the verdict is only in what it prints.
 */
function opensslVerifyCsr(input: string | Buffer, format: 'PEM' | 'DER'): string {
  const result = spawnSync('openssl', ['req', '-verify', '-noout', '-inform', format], { input });
  return `${result.stdout.toString()}${result.stderr.toString()}`;
}

describe('generateAgentKey', () => {
  it('makes a PEM CSR for an ECDSA P-256 key that verifies with its own key', async () => {
    const key = await generateAgentKey();
    expect(key.csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\r?\n/);
    const csr = new Pkcs10CertificateRequest(key.csrPem);
    expect(await csr.verify(webcrypto)).toBe(true);
    expect(csr.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
  });

  it('exports the private key as PKCS#8 PEM that node:crypto reads back as P-256', async () => {
    const key = await generateAgentKey();
    expect(key.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\r?\n/);
    const parsed = (await import('node:crypto')).createPrivateKey(key.privateKeyPem);
    expect(parsed.asymmetricKeyType).toBe('ec');
    expect(parsed.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('makes a new key every time', async () => {
    const [a, b] = await Promise.all([generateAgentKey(), generateAgentKey()]);
    expect(a.privateKeyPem).not.toBe(b.privateKeyPem);
  });

  it('makes a CSR that `openssl req -verify` accepts', async () => {
    const key = await generateAgentKey();
    expect(opensslVerifyCsr(key.csrPem, 'PEM')).toMatch(/verify OK/);
  });

  it('`openssl req -verify` rejects the CSR once its signature is altered (control)', async () => {
    const key = await generateAgentKey();
    const der = Buffer.from(new Pkcs10CertificateRequest(key.csrPem).rawData);
    der[der.length - 1]! ^= 0x01; // last byte of the signature
    const output = opensslVerifyCsr(der, 'DER');
    expect(output).not.toMatch(/verify OK/);
    expect(output).toMatch(/verify fail/);
  });

  it('makes a private key that `openssl pkey -check` accepts', async () => {
    const key = await generateAgentKey();
    const out = execFileSync('openssl', ['pkey', '-check', '-noout'], { input: key.privateKeyPem, stdio: 'pipe' });
    expect(out.toString()).toMatch(/valid/i);
  });
});

describe('leafMatchesKey', () => {
  it('accepts a chain whose leaf certifies the key', async () => {
    const ca = await newCertificateAuthority();
    const key = await generateAgentKey();
    const chain = await issueSvid(ca, key.csrPem, 'spiffe://example.org/agent/x');
    expect(await leafMatchesKey(chain.certChain, key.keyPair.publicKey)).toBe(true);
  });

  it('rejects a chain issued for another key', async () => {
    const ca = await newCertificateAuthority();
    const [key, other] = await Promise.all([generateAgentKey(), generateAgentKey()]);
    const chain = await issueSvid(ca, other.csrPem, 'spiffe://example.org/agent/x');
    expect(await leafMatchesKey(chain.certChain, key.keyPair.publicKey)).toBe(false);
  });

  it('throws when the chain holds no certificate', async () => {
    const key = await generateAgentKey();
    await expect(leafMatchesKey('not a pem', key.keyPair.publicKey)).rejects.toThrow(/no PEM certificate/);
  });
});
