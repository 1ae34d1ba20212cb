import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { signIid, signedLayout, testSigner, type TestSigner } from '@libs/attestors/aws-iid/testing/iid-signer';

// Signed instance identity documents for the bench, made before the timed
// phases. `openssl cms -sign` (what the simulator's IMDS runs) costs a
// process per document, far too slow for tens of thousands; so openssl signs
// ONE template and every other document of the same length is put in its
// place: new content bytes, new messageDigest, the signed attributes signed
// again with node:crypto. The result is byte for byte the structure openssl
// writes (BER, indefinite lengths, signed attributes), with a valid
// signature.

const MESSAGE_DIGEST_ATTR = Buffer.from('06092a864886f70d01090431220420', 'hex');

/** Where the variable parts sit in the template signature. */
export interface SignTemplate {
  /** base64 DER of the openssl-made signature */
  der: string;
  documentAt: number;
  documentLength: number;
  digestAt: number;
  attrsStart: number;
  attrsEnd: number;
  signatureAt: number;
}

export interface IidSigning {
  signer: TestSigner;
  /** base64 PKCS#7 (64-column lines, as IMDS serves it) for each document, in order */
  signAll(documents: string[]): Promise<string[]>;
}

export function iidSigning(templateDocument: string): IidSigning {
  const signer = testSigner('bench');
  const der = Buffer.from(signIid(templateDocument, signer).replace(/\s+/g, ''), 'base64');
  const document = Buffer.from(templateDocument, 'utf8');
  const documentAt = der.indexOf(document);
  // openssl -stream writes the content in one chunk for a document this small; check it.
  if (documentAt < 0 || der.indexOf(document, documentAt + 1) >= 0)
    throw new Error('bench: the template does not hold the document in one piece');
  const layout = signedLayout(der);
  const template: SignTemplate = {
    der: der.toString('base64'),
    documentAt,
    documentLength: document.length,
    digestAt: der.indexOf(MESSAGE_DIGEST_ATTR) + MESSAGE_DIGEST_ATTR.length,
    attrsStart: layout.attrsStart,
    attrsEnd: layout.attrsEnd,
    signatureAt: layout.signatureStart,
  };
  return {
    signer,
    async signAll(documents) {
      const workers = Math.max(1, availableParallelism());
      const size = Math.ceil(documents.length / workers);
      const slices = Array.from({ length: workers }, (_, i) => documents.slice(i * size, (i + 1) * size)).filter(
        (s) => s.length > 0,
      );
      const signed = await Promise.all(slices.map((slice) => signInWorker(template, signer.keyPem, slice)));
      return signed.flat();
    },
  };
}

function signInWorker(template: SignTemplate, keyPem: string, documents: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(__dirname, 'iid-sign-worker.js'), { workerData: { template, keyPem, documents } });
    worker.once('message', (signatures: string[]) => resolve(signatures));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`bench: signing worker exited with ${code}`));
    });
  });
}
