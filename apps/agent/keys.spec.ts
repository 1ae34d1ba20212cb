import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { generateAgentKey, leafMatchesKey } from './keys';
import { issueSvid, newCertificateAuthority } from './testing/fake-attestd';

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
