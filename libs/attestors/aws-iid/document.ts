import { ProofRejected } from '../attestor';

// Step 2 of `aws_iid` (attestors.md): the instance identity document, read
// only after step 1 verified its signature. IMDS serves a pretty-printed JSON
// object of ~500 bytes; fields AWS adds later are ignored.

/** Ample for IMDS's document, small enough that parsing hostile input is cheap. */
export const MAX_DOCUMENT_BYTES = 8 * 1024;

/** The fields attestd uses; AWS's document has more (architecture, version, ...). */
export interface IidDocument {
  /** 12 digits */
  accountId: string;
  /** `i-` and 8 or 17 lowercase hex digits */
  instanceId: string;
  region: string;
  availabilityZone: string;
  imageId: string;
  instanceType: string;
  privateIp: string;
  /** ISO 8601 as AWS writes it (`2021-09-03T21:25:44Z`); kept as text */
  pendingTime: string;
}

const REQUIRED: readonly (keyof IidDocument)[] = [
  'accountId',
  'instanceId',
  'region',
  'availabilityZone',
  'imageId',
  'instanceType',
  'privateIp',
  'pendingTime',
];

// Formats only where the spec fixes them; the others end up in attributes
// and SPIFFE IDs, where the policy engine checks their characters.
const FORMATS: Partial<Record<keyof IidDocument, { pattern: RegExp; description: string }>> = {
  accountId: { pattern: /^[0-9]{12}$/, description: '12 digits' },
  instanceId: { pattern: /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, description: 'i- and 8 or 17 hex digits' },
};

function reject(reason: string): never {
  throw new ProofRejected(`aws_iid: ${reason}`);
}

/** Parses the document text; throws ProofRejected naming the first bad field. */
export function parseIidDocument(document: string): IidDocument {
  if (typeof document !== 'string') reject('document is not a string');
  if (Buffer.byteLength(document, 'utf8') > MAX_DOCUMENT_BYTES)
    reject(`document is longer than ${MAX_DOCUMENT_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    reject('document is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) reject('document is not a JSON object');
  const fields = parsed as Record<string, unknown>;
  const out: Partial<IidDocument> = {};
  for (const name of REQUIRED) {
    // own properties only: `constructor` and friends must not count as present
    if (!Object.hasOwn(fields, name) || fields[name] === null) reject(`document is missing ${name}`);
    const value = fields[name];
    if (typeof value !== 'string') reject(`document ${name} is not a string`);
    if (value.length === 0) reject(`document ${name} is empty`);
    const format = FORMATS[name];
    if (format !== undefined && !format.pattern.test(value)) reject(`document ${name} is not ${format.description}`);
    out[name] = value;
  }
  return out as IidDocument;
}
