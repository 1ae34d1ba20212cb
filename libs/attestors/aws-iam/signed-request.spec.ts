import { presignedGetCallerIdentity } from '@libs/testing/aws-simulator/fixtures';
import { rejectionReason } from '../testing/rejection';
import { vetSignedRequest } from './signed-request';

// One test per refusal of the request an aws_iam proof carries, each with
// its exact reason (the property spec only checks that bad input is refused).

const CHALLENGE = 'challenge-0123456789';
const NOW = new Date();
const MINUTE = 60_000;

type Proof = { method: string; url: string; headers: Record<string, string>; body: string };

describe('vetSignedRequest refusals', () => {
  let valid: Proof;
  beforeAll(async () => {
    const signed = await presignedGetCallerIdentity(
      { accessKeyId: 'AKIATEST000000000001', secretAccessKey: 'test-secret' },
      CHALLENGE,
      { signingDate: NOW },
    );
    valid = {
      method: signed.method,
      url: 'https://sts.us-east-1.amazonaws.com/',
      headers: signed.headers,
      body: signed.body,
    };
  });

  const vet = (proof: Proof, options: { challenge?: string; now?: Date } = {}) =>
    rejectionReason(
      Promise.resolve().then(() => vetSignedRequest(proof, options.challenge ?? CHALLENGE, 'aws', options.now ?? NOW)),
    );

  it('accepts the request as the agent signs it', async () => {
    expect(await vet(valid)).toBe('accepted');
  });

  it.each([
    ['not a URL', 'https://', 'aws_iam: url is not a URL'],
    ['plain http', 'http://sts.us-east-1.amazonaws.com/', 'aws_iam: url must be https'],
    [
      'user information',
      'https://user:pw@sts.us-east-1.amazonaws.com/',
      'aws_iam: url must not carry user information',
    ],
    ['a port', 'https://sts.us-east-1.amazonaws.com:8443/', 'aws_iam: url must not name a port'],
    [
      'a path',
      'https://sts.us-east-1.amazonaws.com/x',
      'aws_iam: url must be the STS endpoint root, with no path or query',
    ],
    ['over 256 characters', `https://sts.us-east-1.amazonaws.com/${'a'.repeat(256)}`, 'aws_iam: url is not an STS URL'],
  ])('refuses a url with %s', async (_case, url, reason) => {
    expect(await vet({ ...valid, url })).toBe(reason);
  });

  it('refuses a request signed more than 15 minutes from now', async () => {
    expect(await vet(valid, { now: new Date(NOW.getTime() + 16 * MINUTE) })).toBe(
      'aws_iam: X-Amz-Date is more than 15 minutes from now',
    );
  });

  it("refuses a request bound to another login's challenge", async () => {
    expect(await vet(valid, { challenge: 'another-challenge-0000' })).toBe(
      "aws_iam: X-Attestd-Challenge does not match this login's challenge",
    );
  });
});
