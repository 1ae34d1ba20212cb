import { MAX_DOCUMENT_BYTES, parseIidDocument } from './document';
import { iidDocument } from './testing/iid-signer';
import { rejectionReason } from '../testing/rejection';

const REQUIRED = [
  'accountId',
  'instanceId',
  'region',
  'availabilityZone',
  'imageId',
  'instanceType',
  'privateIp',
  'pendingTime',
];

describe('parseIidDocument', () => {
  it('reads the fields attestd uses from an IMDS document and ignores the others', () => {
    expect(parseIidDocument(iidDocument({ somethingNew: { nested: true } }))).toEqual({
      accountId: '123456789012',
      instanceId: 'i-0123456789abcdef0',
      region: 'us-east-1',
      availabilityZone: 'us-east-1a',
      imageId: 'ami-0abcdef1234567890',
      instanceType: 't3.medium',
      privateIp: '10.0.0.10',
      pendingTime: '2026-01-02T03:04:05Z',
    });
  });

  it('accepts an 8-digit (older) instance id', () => {
    expect(parseIidDocument(iidDocument({ instanceId: 'i-0123abcd' })).instanceId).toBe('i-0123abcd');
  });

  it.each(REQUIRED)('rejects a document missing %s', (field) => {
    expect(rejectionReason(() => parseIidDocument(iidDocument({ [field]: undefined })))).toBe(
      `aws_iid: document is missing ${field}`,
    );
  });

  it.each(REQUIRED)('rejects a document whose %s is null', (field) => {
    expect(rejectionReason(() => parseIidDocument(iidDocument({ [field]: null })))).toBe(
      `aws_iid: document is missing ${field}`,
    );
  });

  it.each(REQUIRED)('rejects a document whose %s is not a string', (field) => {
    expect(rejectionReason(() => parseIidDocument(iidDocument({ [field]: 12 })))).toBe(
      `aws_iid: document ${field} is not a string`,
    );
  });

  it('rejects an empty field', () => {
    expect(rejectionReason(() => parseIidDocument(iidDocument({ imageId: '' })))).toBe(
      'aws_iid: document imageId is empty',
    );
  });

  it.each(['12345678901', '1234567890123', '12345678901a', ' 123456789012'])('rejects account id %j', (accountId) => {
    expect(rejectionReason(() => parseIidDocument(iidDocument({ accountId })))).toBe(
      'aws_iid: document accountId is not 12 digits',
    );
  });

  it.each(['i-0123456789abcdef', 'i-0123456789ABCDEF0', 'x-0123456789abcdef0', 'i-0123abc', 'i-0123456789abcdef0\n'])(
    'rejects instance id %j',
    (instanceId) => {
      expect(rejectionReason(() => parseIidDocument(iidDocument({ instanceId })))).toBe(
        'aws_iid: document instanceId is not i- and 8 or 17 hex digits',
      );
    },
  );

  it('rejects a document that is not a string', () => {
    expect(rejectionReason(() => parseIidDocument(42 as unknown as string))).toBe('aws_iid: document is not a string');
  });

  it('rejects text that is not JSON', () => {
    expect(rejectionReason(() => parseIidDocument('{ "accountId" :'))).toBe('aws_iid: document is not valid JSON');
  });

  it.each(['[]', 'null', '"text"', '12'])('rejects JSON %s that is not an object', (text) => {
    expect(rejectionReason(() => parseIidDocument(text))).toBe('aws_iid: document is not a JSON object');
  });

  it('rejects a document over the size cap', () => {
    const big = iidDocument({ padding: 'x'.repeat(MAX_DOCUMENT_BYTES) });
    expect(rejectionReason(() => parseIidDocument(big))).toBe(
      `aws_iid: document is longer than ${MAX_DOCUMENT_BYTES} bytes`,
    );
  });
});
