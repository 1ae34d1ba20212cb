import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTlsIdentity, type TlsIdentity } from '@libs/testing/azure-simulator/tls';
import { until } from '@libs/testing/until';
import { startTestServer, type TestServer } from '../support/server';

/** GET over a fresh TLS connection trusting `ca`: the status and the certificate the server presented. */
function httpsGet(url: string, ca: string): Promise<{ status: number; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, checkServerIdentity: () => undefined }, (response) => {
      const fingerprint =
        response.socket && 'getPeerCertificate' in response.socket
          ? (response.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256
          : '';
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, fingerprint }));
    });
    req.on('error', reject);
    req.end();
  });
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('HTTPS (tls.certFile, tls.keyFile)', () => {
  let dir: string;
  let server: TestServer;
  let first: TlsIdentity;
  const certFile = () => join(dir, 'tls.crt');
  const keyFile = () => join(dir, 'tls.key');
  /** as cert-manager and ACME clients do: a whole new file renamed over the old one */
  const replace = (path: string, text: string) => {
    writeFileSync(`${path}.new`, text, { mode: 0o600 });
    renameSync(`${path}.new`, path);
  };
  const tlsEnv = () => ({
    ATTESTD_TLS_CERT_FILE: certFile(),
    ATTESTD_TLS_KEY_FILE: keyFile(),
    ATTESTD_TLS_RELOAD_INTERVAL: '1s',
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'attestd-tls-'));
    first = await createTlsIdentity();
    writeFileSync(certFile(), first.certificatePem);
    writeFileSync(keyFile(), first.keyPem, { mode: 0o600 });
    server = await startTestServer({ env: tlsEnv() });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API over HTTPS with the configured certificate, and says so', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await httpsGet(`${server.url}/healthz`, first.certificatePem)).toEqual({
      status: 200,
      fingerprint: fingerprintOf(first.certificatePem),
    });
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        msg: 'tls: serving HTTPS',
        certFile: certFile(),
        sha256: fingerprintOf(first.certificatePem),
      }),
    );
    await expect(fetch(`${server.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow(); // no plain HTTP on the port
  });

  it('serves a renewed certificate without a restart, and the old one until the new files make a pair', async () => {
    const renewed = await createTlsIdentity();
    replace(certFile(), renewed.certificatePem); // the certificate first: it does not fit the old key
    await until(() =>
      server.logs.some(
        (l) =>
          l.msg ===
            'tls: the changed certificate files are not a usable pair; still serving the previous certificate' &&
          l.reason === 'the private key is not the one of the certificate',
      ),
    );
    expect((await httpsGet(`${server.url}/healthz`, first.certificatePem)).fingerprint).toBe(
      fingerprintOf(first.certificatePem),
    );
    replace(keyFile(), renewed.keyPem);
    await until(() =>
      server.logs.some(
        (l) => l.msg === 'tls: certificate reloaded' && l.sha256 === fingerprintOf(renewed.certificatePem),
      ),
    );
    expect(await httpsGet(`${server.url}/healthz`, renewed.certificatePem)).toEqual({
      status: 200,
      fingerprint: fingerprintOf(renewed.certificatePem),
    });
    first = renewed;
  });

  it("refuses to start with a key file others can read, or a certificate that is not the key's, in one line", async () => {
    writeFileSync(join(dir, 'loose.key'), first.keyPem);
    chmodSync(join(dir, 'loose.key'), 0o644); // (the open embedded database keeps this process's umask owner-only)
    await expect(server.restart({ ATTESTD_TLS_KEY_FILE: join(dir, 'loose.key') })).rejects.toThrow(
      new Error(
        `tls.certFile (ATTESTD_TLS_CERT_FILE): key file ${join(dir, 'loose.key')} has invalid permissions 0644; it must be 0600 or stricter (no access for others): run chmod 600 ${join(dir, 'loose.key')}`,
      ),
    );
    const other = await createTlsIdentity();
    writeFileSync(join(dir, 'other.key'), other.keyPem, { mode: 0o600 });
    await expect(server.restart({ ATTESTD_TLS_KEY_FILE: join(dir, 'other.key') })).rejects.toThrow(
      new Error(
        `tls.certFile (ATTESTD_TLS_CERT_FILE): ${certFile()} and ${join(dir, 'other.key')}: the private key is not the one of the certificate`,
      ),
    );
    server = await server.restart(tlsEnv());
    expect((await httpsGet(`${server.url}/healthz`, first.certificatePem)).status).toBe(200);
  });

  it('warns at start when it serves plain HTTP on an address other than loopback, and only then', async () => {
    const warning = (s: TestServer) =>
      s.logs.filter((l) => String(l.msg).startsWith('http: serving plain HTTP on an address other than loopback'));
    const plain = { ATTESTD_TLS_CERT_FILE: '', ATTESTD_TLS_KEY_FILE: '' };
    expect(warning(server)).toEqual([]); // HTTPS
    server = await server.restart(plain);
    expect(warning(server)).toEqual([]); // loopback
    server = await server.restart({ ...plain, ATTESTD_LISTEN: '0.0.0.0:0' });
    expect(warning(server)).toEqual([expect.objectContaining({ level: 40, listen: '0.0.0.0:0' })]);
  });
});
