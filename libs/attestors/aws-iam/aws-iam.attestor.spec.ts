import { createServer } from 'node:http';
import fc from 'fast-check';
import { DependencyUnavailable, ProofRejected } from '../attestor';
import type { AwsAccountGate, StsSender } from '../aws/ports';
import { startAwsSimulator, type AwsSimulator } from '@libs/testing/aws-simulator';
import {
  OUTSIDER_ACCOUNT,
  OUTSIDER_KEY,
  SERVER_ACCOUNT,
  presignedGetCallerIdentity,
  worldInit,
  type Creds,
} from '@libs/testing/aws-simulator/fixtures';
import { awsIamAttestor, type AwsIamProof } from './aws-iam.attestor';
import { parseCallerIdentity } from './caller-identity';
import { GET_CALLER_IDENTITY_BODY } from './signed-request';
import { createStsSender } from './sts-sender';
import { rejectionReason } from '../testing/rejection';

const CHALLENGE = 'c2lnbmVkLWNoYWxsZW5nZS1mb3ItdGhpcy1sb2dpbg';
const onlyServerAccount: AwsAccountGate = {
  isAccountAllowed: async (account, config) =>
    account === SERVER_ACCOUNT || (config.awsAccountsAllowed ?? []).includes(account),
};

describe('aws_iam attestor', () => {
  let sim: AwsSimulator;
  let sts: StsSender;
  let sent: number;
  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
    const real = createStsSender({ timeoutMs: 2000, maxBytes: 65536, endpointOverride: sim.url });
    sts = { send: (request) => (sent++, real.send(request)) };
  });
  afterAll(() => sim?.close());
  beforeEach(() => {
    sent = 0;
  });

  const attestor = (overrides: { sts?: StsSender; accounts?: AwsAccountGate } = {}) =>
    awsIamAttestor({ accounts: overrides.accounts ?? onlyServerAccount, sts: overrides.sts ?? sts, partition: 'aws' });

  async function proof(
    credentials: Creds = sim.world.issueSession(`arn:aws:iam::${SERVER_ACCOUNT}:role/checkout-task`, 'ecs-task-7f3a'),
    options: { challenge?: string; signingDate?: Date; region?: string } = {},
  ): Promise<AwsIamProof> {
    const region = options.region ?? 'us-east-1';
    const signed = await presignedGetCallerIdentity(credentials, options.challenge ?? CHALLENGE, {
      region,
      ...(options.signingDate && { signingDate: options.signingDate }),
    });
    return { method: 'POST', url: `https://sts.${region}.amazonaws.com/`, headers: signed.headers, body: signed.body };
  }

  const verify = (p: AwsIamProof, a = attestor(), config = {}) =>
    a.verify(p, config, { challenge: CHALLENGE, now: new Date() });

  it('verifies an assumed-role caller (a Fargate task) with STS and emits its identity', async () => {
    const verified = await verify(await proof());
    expect(verified.attributes).toEqual({
      'account.id': [SERVER_ACCOUNT],
      arn: [`arn:aws:sts::${SERVER_ACCOUNT}:assumed-role/checkout-task/ecs-task-7f3a`],
      'principal.type': ['assumed-role'],
      'role.name': ['checkout-task'],
      'session.name': ['ecs-task-7f3a'],
      'user.name': [],
      user_id: [expect.any(String)],
    });
    expect(verified.tofuKey).toBeUndefined();
  });

  it('verifies an IAM user of an allowed account', async () => {
    const verified = await verify(await proof(OUTSIDER_KEY), attestor(), { awsAccountsAllowed: [OUTSIDER_ACCOUNT] });
    expect(verified.attributes).toMatchObject({ 'principal.type': ['user'], 'user.name': ['mallory'] });
  });

  it('rejects a caller whose account is not allowed', async () => {
    expect(await rejectionReason(verify(await proof(OUTSIDER_KEY)))).toBe(
      `aws_iam: account ${OUTSIDER_ACCOUNT} is not allowed`,
    );
  });

  it('rejects a request STS does not accept (signature broken after signing)', async () => {
    const p = await proof();
    p.headers['x-attestd-challenge'] = CHALLENGE; // unchanged
    p.headers.authorization = p.headers.authorization!.replace(/Signature=[0-9a-f]{4}/, 'Signature=0000');
    expect(await rejectionReason(verify(p))).toBe('aws_iam: STS rejected the signed request: SignatureDoesNotMatch');
  });

  describe('checks made before any network I/O', () => {
    const withHeaders = (p: AwsIamProof, change: (headers: AwsIamProof['headers']) => AwsIamProof['headers']) => ({
      ...p,
      headers: change({ ...p.headers }),
    });
    const without = (name: string) => (p: AwsIamProof) =>
      withHeaders(p, (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name)));
    const signing = (change: (authorization: string) => string) => (p: AwsIamProof) =>
      withHeaders(p, (headers) => ({ ...headers, authorization: change(headers.authorization!) }));
    const cases: [string, (p: AwsIamProof) => AwsIamProof, string][] = [
      [
        'another host',
        (p) => ({ ...p, url: 'https://evil.example.com/' }),
        'aws_iam: host evil.example.com is not an STS endpoint of partition aws',
      ],
      [
        'a look-alike host',
        (p) => ({ ...p, url: 'https://sts.us-east-1.amazonaws.com.evil.io/' }),
        'aws_iam: host sts.us-east-1.amazonaws.com.evil.io is not an STS endpoint of partition aws',
      ],
      [
        'user information',
        (p) => ({ ...p, url: 'https://user:pw@sts.us-east-1.amazonaws.com/' }),
        'aws_iam: url must not carry user information',
      ],
      [
        'a port',
        (p) => ({ ...p, url: 'https://sts.us-east-1.amazonaws.com:8443/' }),
        'aws_iam: url must not name a port',
      ],
      [
        'an IP literal',
        (p) => ({ ...p, url: 'https://169.254.169.254/' }),
        'aws_iam: host 169.254.169.254 is not an STS endpoint of partition aws',
      ],
      [
        'a path',
        (p) => ({ ...p, url: 'https://sts.us-east-1.amazonaws.com/latest/meta-data' }),
        'aws_iam: url must be the STS endpoint root, with no path or query',
      ],
      [
        'a query',
        (p) => ({ ...p, url: 'https://sts.us-east-1.amazonaws.com/?Action=AssumeRole' }),
        'aws_iam: url must be the STS endpoint root, with no path or query',
      ],
      ['plain http', (p) => ({ ...p, url: 'http://sts.us-east-1.amazonaws.com/' }), 'aws_iam: url must be https'],
      [
        'a China endpoint in the aws partition',
        (p) => ({ ...p, url: 'https://sts.cn-north-1.amazonaws.com.cn/' }),
        'aws_iam: host sts.cn-north-1.amazonaws.com.cn is not an STS endpoint of partition aws',
      ],
      [
        'another action',
        (p) => ({ ...p, body: 'Action=AssumeRole&Version=2011-06-15' }),
        `aws_iam: body must be exactly ${GET_CALLER_IDENTITY_BODY}`,
      ],
      ['another method', (p) => ({ ...p, method: 'GET' }), 'aws_iam: method must be POST'],
      [
        'a Host header naming another host',
        (p) => ({ ...p, headers: { ...p.headers, host: 'evil.example.com' } }),
        'aws_iam: the Host header does not match the URL',
      ],
      [
        'no Authorization',
        without('authorization'),
        'aws_iam: Authorization is not an AWS4-HMAC-SHA256 signature for sts',
      ],
      [
        'an unsigned challenge header',
        signing((authorization) => authorization.replace(';x-attestd-challenge', '')),
        'aws_iam: the signature does not cover the x-attestd-challenge header',
      ],
      [
        'a signed header attestd does not forward',
        signing((authorization) => authorization.replace('SignedHeaders=', 'SignedHeaders=accept;')),
        'aws_iam: the signature covers the accept header, which attestd does not forward',
      ],
      ['a signed header that is not sent', without('content-type'), 'aws_iam: signed header content-type is missing'],
      [
        'a signature scoped to another region',
        signing((authorization) => authorization.replace('/us-east-1/sts/', '/eu-west-1/sts/')),
        'aws_iam: the signature is scoped to region eu-west-1, the URL to us-east-1',
      ],
      [
        'a credential scope of another day',
        signing((authorization) => authorization.replace(/\/[0-9]{8}\//, '/19990101/')),
        'aws_iam: the credential scope date does not match X-Amz-Date',
      ],
      [
        'a challenge of another login',
        (p) => ({ ...p, headers: { ...p.headers, 'x-attestd-challenge': 'b3RoZXItbG9naW4' } }),
        "aws_iam: X-Attestd-Challenge does not match this login's challenge",
      ],
      [
        'a header with a line break',
        (p) => ({ ...p, headers: { ...p.headers, 'x-amz-date': '20261122T000000Z\r\nX-Evil: 1' } }),
        'aws_iam: header x-amz-date has an invalid value',
      ],
      [
        'a header name that is not a token',
        (p) => ({ ...p, headers: { ...p.headers, 'x evil': '1' } }),
        'aws_iam: a header name is not a token',
      ],
      [
        'one header sent twice in two spellings',
        (p) => ({ ...p, headers: { ...p.headers, 'X-Amz-Date': p.headers['x-amz-date']! } }),
        'aws_iam: header x-amz-date appears twice',
      ],
      [
        'a malformed X-Amz-Date',
        (p) => ({ ...p, headers: { ...p.headers, 'x-amz-date': '2026-11-22T00:00:00Z' } }),
        'aws_iam: X-Amz-Date is missing or malformed',
      ],
      [
        'too many headers',
        (p) => ({
          ...p,
          headers: { ...p.headers, ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`x-pad-${i}`, 'x'])) },
        }),
        'aws_iam: more than 12 headers',
      ],
    ];
    it.each(cases)('rejects %s', async (_name, change, message) => {
      expect(await rejectionReason(verify(change(await proof())))).toBe(message);
      expect(sent).toBe(0);
    });

    it('rejects a request signed 20 minutes ago, and one dated 20 minutes ahead', async () => {
      expect(
        await rejectionReason(verify(await proof(undefined, { signingDate: new Date(Date.now() - 20 * 60_000) }))),
      ).toBe('aws_iam: X-Amz-Date is more than 15 minutes from now');
      expect(
        await rejectionReason(verify(await proof(undefined, { signingDate: new Date(Date.now() + 20 * 60_000) }))),
      ).toBe('aws_iam: X-Amz-Date is more than 15 minutes from now');
      expect(sent).toBe(0);
    });

    it('rejects a login without a challenge', async () => {
      expect(await rejectionReason(attestor().verify(await proof(), {}, { now: new Date() }))).toMatch(/challenge/);
    });

    it('never sends anything but a well-formed request, whatever the proof', async () => {
      const p = await proof();
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            method: fc.oneof(fc.constant('POST'), fc.string()),
            url: fc.oneof(fc.constant(p.url), fc.webUrl(), fc.string()),
            headers: fc.oneof(fc.constant(p.headers), fc.dictionary(fc.string(), fc.string())),
            body: fc.oneof(fc.constant(p.body), fc.string()),
          }),
          async (candidate) => {
            if (
              candidate.url === p.url &&
              candidate.headers === p.headers &&
              candidate.body === p.body &&
              candidate.method === 'POST'
            )
              return;
            const before = sent;
            const outcome = await verify(candidate).then(
              () => 'accepted',
              (error: unknown) => (error instanceof ProofRejected ? 'rejected' : String(error)),
            );
            expect(outcome).toBe('rejected');
            expect(sent).toBe(before);
          },
        ),
        { numRuns: 150 },
      );
    });
  });

  describe('sending to STS', () => {
    it('fails closed when STS is unreachable', async () => {
      const down = createStsSender({ timeoutMs: 500, maxBytes: 65536, endpointOverride: 'http://127.0.0.1:9' });
      await expect(verify(await proof(), attestor({ sts: down }))).rejects.toThrow(DependencyUnavailable);
    });

    it("does not follow a redirect, and bounds the answer's size", async () => {
      let mode: 'redirect' | 'huge' = 'redirect';
      const fake = createServer((_req, res) => {
        if (mode === 'redirect') res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
        else res.writeHead(200).end('x'.repeat(200_000));
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      const port = (fake.address() as { port: number }).port;
      const sender = createStsSender({
        timeoutMs: 1000,
        maxBytes: 65536,
        endpointOverride: `http://127.0.0.1:${port}`,
      });
      expect(await rejectionReason(verify(await proof(), attestor({ sts: sender })))).toBe(
        'aws_iam: STS rejected the signed request: HTTP 302',
      );
      mode = 'huge';
      await expect(verify(await proof(), attestor({ sts: sender }))).rejects.toThrow(/exceeds 65536 bytes/);
      await new Promise((resolve) => fake.close(resolve));
    });
  });
});

describe('parseCallerIdentity', () => {
  const answer = (result: string) =>
    `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">${result}<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
  const result = (arn: string, account = '123456789012') =>
    `<GetCallerIdentityResult><Arn>${arn}</Arn><UserId>AIDA1</UserId><Account>${account}</Account></GetCallerIdentityResult>`;

  it.each([
    ['arn:aws:iam::123456789012:root', { principalType: 'root' }],
    ['arn:aws:iam::123456789012:user/team/alice', { principalType: 'user', userName: 'alice' }],
    ['arn:aws:sts::123456789012:federated-user/bob', { principalType: 'federated-user' }],
    [
      'arn:aws:sts::123456789012:assumed-role/fn-role/my-function',
      { principalType: 'assumed-role', roleName: 'fn-role', sessionName: 'my-function' },
    ],
  ])('reads %s', (arn, expected) => {
    expect(parseCallerIdentity(answer(result(arn)))).toMatchObject(expected);
  });

  it.each([
    ['malformed XML', '<GetCallerIdentityResponse><oops>', 'aws_iam: STS answered with malformed XML'],
    [
      'two results',
      answer(result('arn:aws:iam::123456789012:root') + result('arn:aws:iam::123456789012:root')),
      'aws_iam: STS answer must hold exactly one GetCallerIdentityResult',
    ],
    [
      'an ARN of another account',
      answer(result('arn:aws:iam::999999999999:root')),
      'aws_iam: STS answered with an ARN that does not match its Account',
    ],
    [
      'an ARN of an unknown principal type',
      answer(result('arn:aws:iam::123456789012:role/deployer')),
      'aws_iam: STS answered with an ARN of an unknown principal type',
    ],
    ['another root element', '<AssumeRoleResponse/>', 'aws_iam: STS did not answer with a GetCallerIdentityResponse'],
    [
      'a missing Arn',
      answer('<GetCallerIdentityResult><UserId>x</UserId><Account>123456789012</Account></GetCallerIdentityResult>'),
      'aws_iam: STS answer must hold exactly one Arn',
    ],
    [
      'a malformed Account',
      answer(result('arn:aws:iam::123456789012:root', '12345')),
      'aws_iam: STS answered with a malformed Account',
    ],
  ])('rejects %s', (_name, xml, reason) => {
    expect(rejectionReason(() => parseCallerIdentity(xml))).toBe(reason);
  });
});
