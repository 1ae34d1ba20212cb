import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Test support only (imported by *.spec.ts, never by the lib): the openssl
// command line as an independent maker of CSRs and certificates and as an
// independent verifier of ours. Keys are generated at run time.

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export function withTmpDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'attestd-pki-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function openssl(args: string[], cwd?: string): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `-newkey` values: `ec:P-256` style is spelled out through -pkeyopt below. */
export type KeySpec = 'P-256' | 'P-384' | 'P-521' | 'rsa:1024' | 'rsa:2048' | 'ed25519';

function newKeyArgs(spec: KeySpec): string[] {
  if (spec.startsWith('P-')) return ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${spec}`];
  return ['-newkey', spec];
}

/** A CSR made by `openssl req -new`, with its private key. */
export function opensslCsr(spec: KeySpec, extra: string[] = []): { csrPem: string; keyPem: string } {
  return withTmpDir((dir) => {
    const csrPem = openssl(
      ['req', '-new', ...newKeyArgs(spec), '-nodes', '-keyout', 'key.pem', '-subj', '/CN=ignored.example', ...extra],
      dir,
    );
    return { csrPem, keyPem: readFileSync(join(dir, 'key.pem'), 'utf8') };
  });
}

/** A self-signed CA made by openssl (URI SAN `spiffe://<trustDomain>` unless undefined), for checks against a CA we did not make. */
export function opensslCa(
  spec: KeySpec,
  trustDomain: string | undefined,
  basicConstraints = 'critical,CA:TRUE',
): { certificatePem: string; keyPem: string } {
  return withTmpDir((dir) => {
    const certificatePem = openssl(
      [
        'req',
        '-x509',
        ...newKeyArgs(spec),
        '-nodes',
        '-keyout',
        'key.pem',
        '-days',
        '2',
        '-subj',
        '/O=openssl-made/CN=test CA',
        '-addext',
        `basicConstraints=${basicConstraints}`,
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        ...(trustDomain === undefined ? [] : ['-addext', `subjectAltName=URI:spiffe://${trustDomain}`]),
      ],
      dir,
    );
    return { certificatePem, keyPem: readFileSync(join(dir, 'key.pem'), 'utf8') };
  });
}

/** Signs `csrPem` with openssl using the given CA and extension lines (an off-profile certificate). */
export function opensslSign(csrPem: string, caPem: string, caKeyPem: string, extensions: string[]): string {
  return withTmpDir((dir) => {
    writeFileSync(join(dir, 'csr.pem'), csrPem);
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'ca.key'), caKeyPem);
    writeFileSync(join(dir, 'ext.cnf'), extensions.join('\n') + '\n');
    return openssl(
      [
        'x509',
        '-req',
        '-in',
        'csr.pem',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        '4660',
        '-days',
        '1',
        '-extfile',
        'ext.cnf',
      ],
      dir,
    );
  });
}

/** `openssl verify -x509_strict`: exit status and output, not an exception, so tests can assert both ways. */
export function opensslVerify(
  bundlePem: string,
  leafPem: string,
  at: Date,
  extra: string[] = [],
): { ok: boolean; output: string } {
  return withTmpDir((dir) => {
    writeFileSync(join(dir, 'bundle.pem'), bundlePem);
    writeFileSync(join(dir, 'svid.pem'), leafPem);
    const result = spawnSync(
      'openssl',
      [
        'verify',
        '-x509_strict',
        '-attime',
        String(Math.floor(at.getTime() / 1000)),
        ...extra,
        '-CAfile',
        'bundle.pem',
        'svid.pem',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  });
}

/** Re-wraps DER as PEM with the given label (for tampering tests). */
export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${base64.endsWith('\n') ? base64 : `${base64}\n`}-----END ${label}-----\n`;
}

export function fromPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
