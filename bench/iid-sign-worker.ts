import { createHash, createPrivateKey, sign } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { SignTemplate } from './iid-proofs';

// Worker thread: re-signs the openssl-made template for each document (see
// iid-proofs.ts). RSA signing is the cost, so it runs on every core.

interface Job {
  template: SignTemplate;
  keyPem: string;
  documents: string[];
}

const { template, keyPem, documents } = workerData as Job;
const key = createPrivateKey(keyPem);
const base = Buffer.from(template.der, 'base64');
const signatures = documents.map((document) => {
  const der = Buffer.from(base);
  const bytes = Buffer.from(document, 'utf8');
  if (bytes.length !== template.documentLength)
    throw new Error('iid-sign-worker: document length differs from the template');
  bytes.copy(der, template.documentAt);
  createHash('sha256').update(bytes).digest().copy(der, template.digestAt);
  // The signature covers the DER SET OF the attributes: their [0] IMPLICIT tag made 0x31.
  const attrs = Buffer.from(der.subarray(template.attrsStart, template.attrsEnd));
  attrs[0] = 0x31;
  sign('sha256', attrs, key).copy(der, template.signatureAt);
  return der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
});
parentPort!.postMessage(signatures);
