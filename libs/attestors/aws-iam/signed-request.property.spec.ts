import { validateHeaderName, validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import { presignedGetCallerIdentity } from '@libs/testing/aws-simulator/fixtures';
import { ProofRejected } from '../attestor';
import { vetSignedRequest } from './signed-request';

// Whatever the agent sends as an aws_iam proof, vetting ends in ProofRejected
// (a 401) or in a request the server can actually send to STS: a header
// value Node refuses to send would throw a TypeError there, a 500.

const CHALLENGE = 'challenge-0123456789';
const NOW = new Date();
const credentials = { accessKeyId: 'AKIAFUZZ000000000001', secretAccessKey: 'fuzz-secret' };

type Proof = { method: string; url: string; headers: Record<string, string>; body: string };

function outcome(proof: Proof): 'sendable' | 'rejected' {
  try {
    const { request } = vetSignedRequest(proof, CHALLENGE, 'aws', NOW);
    for (const [name, value] of Object.entries(request.headers)) {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    }
    return 'sendable';
  } catch (error) {
    if (error instanceof ProofRejected && error.reason.startsWith('aws_iam: ')) return 'rejected';
    throw error;
  }
}

describe('vetSignedRequest properties', () => {
  let valid: Proof;
  beforeAll(async () => {
    const signed = await presignedGetCallerIdentity(credentials, CHALLENGE, { signingDate: NOW });
    valid = {
      method: signed.method,
      url: 'https://sts.us-east-1.amazonaws.com/',
      headers: signed.headers,
      body: signed.body,
    };
  });

  it('refuses a header value outside printable ASCII (found by fuzzing: a 500 when sent on)', () => {
    const name = Object.keys(valid.headers).find((h) => h.toLowerCase() === 'content-type')!;
    expect(outcome({ ...valid, headers: { ...valid.headers, [name]: `${valid.headers[name]}Ā` } })).toBe('rejected');
    expect(outcome(valid)).toBe('sendable');
  });

  it('does not echo a hostile method into the reason, which the audit log stores (found by fuzzing: NUL was a 500 on PostgreSQL)', () => {
    expect(() => vetSignedRequest({ ...valid, method: 'POST\u0000x' }, CHALLENGE, 'aws', NOW)).toThrow(
      new ProofRejected('aws_iam: method must be POST'),
    );
  });

  it('answers any header value, name or count with ProofRejected or a sendable request', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom('\u00ff', '\u0100', '\ud800', '\r\nx: y', 'x'.repeat(9000)),
    );
    const mutation = fc.oneof(
      fc.tuple(fc.nat(), value).map(([n, text]) => (proof: Proof) => {
        const names = Object.keys(proof.headers);
        const name = names[n % names.length]!;
        return { ...proof, headers: { ...proof.headers, [name]: text } };
      }),
      fc
        .tuple(fc.string({ unit: 'binary', maxLength: 20 }), value)
        .map(([name, text]) => (proof: Proof) => ({ ...proof, headers: { ...proof.headers, [name]: text } })),
      fc
        .array(fc.tuple(fc.string({ maxLength: 10 }), value), { maxLength: 20 })
        .map((extra) => (proof: Proof) => ({ ...proof, headers: { ...proof.headers, ...Object.fromEntries(extra) } })),
      fc
        .tuple(fc.constantFrom('method', 'url', 'body'), value)
        .map(([field, text]) => (proof: Proof) => ({ ...proof, [field]: text })),
    );
    fc.assert(
      fc.property(mutation, (mutate) => ['sendable', 'rejected'].includes(outcome(mutate(valid)))),
      { numRuns: 1000 },
    );
  });
});
