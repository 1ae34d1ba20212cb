import 'reflect-metadata';
import { execFileSync, spawnSync } from 'node:child_process';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { generateAgentKey } from './keys';

// The openssl CLI as an independent judge of the agent's key and CSR (a
// process of its own, so this file is in the e2e tier: jest.config.js).

/**
 * `openssl req -verify` exits 0 whether or not the self-signature verifies
 * (OpenSSL 3.0); the verdict is only in what it prints.
 */
function opensslVerifyCsr(input: string | Buffer, format: 'PEM' | 'DER'): string {
  const result = spawnSync('openssl', ['req', '-verify', '-noout', '-inform', format], { input });
  return `${result.stdout.toString()}${result.stderr.toString()}`;
}

describe('generateAgentKey, judged by openssl', () => {
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
