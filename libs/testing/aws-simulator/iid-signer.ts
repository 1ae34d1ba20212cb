import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Signs instance identity documents the way AWS makes the IMDS `rsa2048`
// signature: `openssl cms -sign -stream -outform DER -nodetach -binary -md
// sha256` (BER with indefinite lengths, the document as content), base64.
// The RSA-2048 key and self-signed certificate are made at run time; tests
// trust the certificate through the `AwsIidCertificates` section.

export interface SignOptions {
  /** leave the document out of the PKCS#7 (drop `-nodetach`); default false */
  detached?: boolean;
  /** embed the signer certificate (openssl's default); false adds `-nocerts`; default true */
  includeCertificate?: boolean;
  /** base64 line length (IMDS wraps at 64); 0 for one line; default 64 */
  wrap?: number;
}

export interface IidSigner {
  /** the signing certificate (self-signed), PEM */
  readonly certificatePem: string;
  /** base64 of the PKCS#7 SignedData over `document` (exact bytes, UTF-8) */
  sign(document: string, options?: SignOptions): Promise<string>;
}

function openssl(args: string[], cwd: string, input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(new Error(`aws-simulator: openssl ${args[0]} failed (${code}): ${Buffer.concat(err).toString('utf8')}`));
    });
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

async function withTmpDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'aws-simulator-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function wrapBase64(der: Buffer, width: number): string {
  const b64 = der.toString('base64');
  if (width <= 0) return b64;
  return b64.match(new RegExp(`.{1,${width}}`, 'g'))?.join('\n') ?? '';
}

/** A fresh RSA-2048 key and self-signed certificate, as a signer. */
export async function createIidSigner(options: { commonName?: string; days?: number } = {}): Promise<IidSigner> {
  const { keyPem, certificatePem } = await withTmpDir(async (dir) => {
    const cert = await openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'key.pem',
        '-sha256',
        '-days',
        String(options.days ?? 30),
        '-subj',
        `/C=US/ST=Washington State/L=Seattle/O=aws-simulator/CN=${options.commonName ?? 'aws-simulator instance identity'}`,
      ],
      dir,
    );
    return { keyPem: await readFile(join(dir, 'key.pem'), 'utf8'), certificatePem: cert.toString('utf8') };
  });
  return {
    certificatePem,
    sign: (document, opts = {}) =>
      withTmpDir(async (dir) => {
        await writeFile(join(dir, 'key.pem'), keyPem, { mode: 0o600 });
        await writeFile(join(dir, 'cert.pem'), certificatePem);
        const args = [
          'cms',
          '-sign',
          '-stream',
          '-outform',
          'DER',
          '-binary',
          '-md',
          'sha256',
          '-signer',
          'cert.pem',
          '-inkey',
          'key.pem',
        ];
        if (!opts.detached) args.push('-nodetach');
        if (opts.includeCertificate === false) args.push('-nocerts');
        const der = await openssl(args, dir, Buffer.from(document, 'utf8'));
        return wrapBase64(der, opts.wrap ?? 64);
      }),
  };
}
