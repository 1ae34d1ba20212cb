import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { ListNodegroupsCommand } from '@aws-sdk/client-eks';
import { GetInstanceProfileCommand } from '@aws-sdk/client-iam';
import { ListAccountsCommand } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import fc from 'fast-check';
import { clients, GET_CALLER_IDENTITY_BODY, presignedGetCallerIdentity, sendRaw, worldInit } from './fixtures';
import { startAwsSimulator, type AwsSimulator } from './index';
import { parseAuthorization } from './sigv4';

describe('aws-simulator sigv4 verification', () => {
  let sim: AwsSimulator;

  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
  });
  afterAll(() => sim?.close());

  it('refuses an unsigned request with MissingAuthenticationToken (403)', async () => {
    const res = await sendRaw(
      sim.url,
      'POST',
      '/',
      { 'content-type': 'application/x-www-form-urlencoded' },
      GET_CALLER_IDENTITY_BODY,
    );
    expect(res.status).toBe(403);
    expect(res.body).toContain('<Code>MissingAuthenticationToken</Code>');
    expect(sim.log.entries().at(-1)).toMatchObject({
      service: 'sts',
      operation: 'GetCallerIdentity',
      error: 'MissingAuthenticationToken',
      status: 403,
    });
  });

  it('refuses an unsigned EC2 request in EC2 error form', async () => {
    const res = await sendRaw(sim.url, 'POST', '/', {}, 'Action=DescribeInstances&Version=2016-11-15');
    expect(res.status).toBe(403);
    expect(res.body).toMatch(
      /<Response><Errors><Error><Code>MissingAuthenticationToken<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[^<]+<\/RequestID><\/Response>/,
    );
  });

  it('refuses a malformed Authorization header with IncompleteSignature', async () => {
    for (const authorization of [
      'AWS4-HMAC-SHA256 Credential=AKIASERVER0000000001/20240101/us-east-1/sts/aws4_request',
      'AWS4-HMAC-SHA1 Credential=a/b/c/d/aws4_request, SignedHeaders=host, Signature=00',
      'Bearer abc',
    ]) {
      const res = await sendRaw(
        sim.url,
        'POST',
        '/',
        { authorization, 'x-amz-date': '20240101T000000Z' },
        GET_CALLER_IDENTITY_BODY,
      );
      expect(res.status).toBe(403);
      expect(res.body).toContain('<Code>IncompleteSignature</Code>');
    }
    expect(() =>
      parseAuthorization(
        'AWS4-HMAC-SHA256 Credential=K/20240101/r/s/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
          'a'.repeat(64),
      ),
    ).not.toThrow();
  });

  it('refuses a wrong secret with SignatureDoesNotMatch (403), in every service', async () => {
    const bad = clients(sim.url, { accessKeyId: sim.world.server.accessKeyId, secretAccessKey: 'wrong-secret' });
    const expectation = { name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } };
    await expect(bad.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject(expectation);
    await expect(bad.ec2.send(new DescribeInstancesCommand({}))).rejects.toMatchObject(expectation);
    await expect(bad.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'web' }))).rejects.toMatchObject(
      expectation,
    );
    await expect(bad.organizations.send(new ListAccountsCommand({}))).rejects.toMatchObject(expectation);
    await expect(bad.eks.send(new ListNodegroupsCommand({ clusterName: 'prod' }))).rejects.toMatchObject(expectation);
  });

  it('refuses an unknown access key: InvalidClientTokenId (STS), AuthFailure (EC2), UnrecognizedClientException (JSON)', async () => {
    const unknown = clients(sim.url, { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' });
    await expect(unknown.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(unknown.ec2.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({
      name: 'AuthFailure',
      $metadata: { httpStatusCode: 401 },
    });
    await expect(unknown.organizations.send(new ListAccountsCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    await expect(unknown.eks.send(new ListNodegroupsCommand({ clusterName: 'prod' }))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
  });

  it('refuses a session token on a long-term key', async () => {
    const withToken = clients(sim.url, { ...sim.world.server, sessionToken: 'anything' });
    await expect(withToken.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    });
  });

  it('refuses a payload hash header that is not the body hash', async () => {
    const proof = await presignedGetCallerIdentity(sim.world.server, 'c');
    const res = await sendRaw(
      sim.url,
      'POST',
      '/',
      { ...proof.headers, 'x-amz-content-sha256': '0'.repeat(64) },
      proof.body,
    );
    expect(res.status).toBe(403);
  });

  it('property: any change to a signed header value is refused, the original accepted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        async (challenge, other) => {
          fc.pre(challenge !== other);
          const proof = await presignedGetCallerIdentity(sim.world.server, challenge);
          const ok = await sendRaw(sim.url, proof.method, '/', proof.headers, proof.body);
          const altered = await sendRaw(
            sim.url,
            proof.method,
            '/',
            { ...proof.headers, 'x-attestd-challenge': other },
            proof.body,
          );
          return ok.status === 200 && altered.status === 403;
        },
      ),
      { numRuns: 25 },
    );
  });

  it('accepts a header whitespace variation that canonicalizes to the same value', async () => {
    const proof = await presignedGetCallerIdentity(sim.world.server, 'a  b');
    const res = await sendRaw(
      sim.url,
      proof.method,
      '/',
      { ...proof.headers, 'x-attestd-challenge': ' a b ' },
      proof.body,
    );
    expect(res.status).toBe(200);
  });
});
