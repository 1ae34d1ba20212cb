import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { checkPrivateFile, RefusedFileError } from '../custody/private-files';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A certificate chain and its private key, as PEM bytes, known to belong together. */
export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the pair at start: the key file must not be readable by other users
 * (PostgreSQL's rule for `ssl_key_file`), and the certificate must be the
 * key's. Throws an Error saying which.
 */
export function readTlsPair(files: TlsFiles): TlsPair {
  checkPrivateFile(files.keyFile, { rootMayShareWithGroup: true });
  const pair = { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
  try {
    checkPair(pair);
  } catch (error) {
    throw new RefusedFileError(`${files.certFile} and ${files.keyFile}: ${(error as Error).message}`);
  }
  return pair;
}

/** What the log says of a certificate: never the key. */
export function describeCertificate(cert: Buffer): { subject: string; notAfter: string; sha256: string } {
  const x509 = new X509Certificate(cert);
  return {
    subject: x509.subject.replaceAll('\n', ', '),
    notAfter: new Date(x509.validTo).toISOString(),
    sha256: x509.fingerprint256,
  };
}

function checkPair(pair: TlsPair): void {
  const certificate = new X509Certificate(pair.cert);
  // OpenSSL itself would take a key that is not the certificate's and fail each handshake
  if (!certificate.checkPrivateKey(createPrivateKey(pair.key)))
    throw new Error('the private key is not the one of the certificate');
  createSecureContext(pair); // what else OpenSSL refuses: a passphrase-protected key, for one
}

/**
 * Serves a renewed certificate without a restart: every `intervalMs` the
 * files are read again, and a changed pair that belongs together replaces
 * the served one (`setSecureContext`; connections already open keep theirs).
 * Reading, rather than watching, also sees Kubernetes' symlink swaps and
 * files on network file systems. A pair that does not fit (an ACME client
 * that has written the certificate but not yet the key) is tried again at
 * the next check, and logged once.
 */
export function reloadTlsOnChange(
  server: { setSecureContext(options: TlsPair): void },
  files: TlsFiles,
  served: TlsPair,
  intervalMs: number,
  logger: Logger,
): { stop(): void } {
  let current = served;
  let rejected: TlsPair | undefined;
  let unreadable: string | undefined;
  let checking = false;
  const same = (a: TlsPair, b: TlsPair | undefined) => b !== undefined && a.cert.equals(b.cert) && a.key.equals(b.key);
  const check = async () => {
    const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
    unreadable = undefined;
    const next = { cert, key };
    if (same(next, current) || same(next, rejected)) return;
    try {
      checkPrivateFile(files.keyFile, { rootMayShareWithGroup: true });
      checkPair(next);
    } catch (error) {
      rejected = next;
      logger.warn(
        { certFile: files.certFile, keyFile: files.keyFile, reason: (error as Error).message },
        'tls: the changed certificate files are not a usable pair; still serving the previous certificate',
      );
      return;
    }
    server.setSecureContext(next);
    current = next;
    logger.info({ certFile: files.certFile, ...describeCertificate(cert) }, 'tls: certificate reloaded');
  };
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    check()
      .catch((error: unknown) => {
        const reason = (error as Error).message;
        if (reason !== unreadable)
          logger.warn(
            { certFile: files.certFile, keyFile: files.keyFile, reason },
            'tls: cannot read the certificate files; still serving the previous certificate',
          );
        unreadable = reason;
      })
      .finally(() => (checking = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
