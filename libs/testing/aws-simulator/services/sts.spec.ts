import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { XMLParser } from 'fast-xml-parser';
import {
  clients,
  GET_CALLER_IDENTITY_BODY,
  MEMBER_ACCOUNT,
  MEMBER_ROLE,
  OUTSIDER_ACCOUNT,
  OUTSIDER_KEY,
  presignedGetCallerIdentity,
  sendRaw,
  SERVER_ACCOUNT,
  worldInit,
} from '../fixtures';
import { startAwsSimulator, type AwsSimulator } from '../index';

describe('aws-simulator sts', () => {
  let sim: AwsSimulator;

  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
  });
  afterAll(() => sim?.close());
  afterEach(() => {
    sim.world.sessionDurationSeconds = undefined;
  });

  it("GetCallerIdentity names the server's own identity", async () => {
    const out = await clients(sim.url, sim.world.server).sts.send(new GetCallerIdentityCommand({}));
    expect(out).toMatchObject({ Account: SERVER_ACCOUNT, Arn: sim.world.server.arn, UserId: sim.world.server.userId });
  });

  it('AssumeRole returns credentials that work as the assumed role in its account', async () => {
    const sts = clients(sim.url, sim.world.server).sts;
    const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: MEMBER_ROLE, RoleSessionName: 'attestd' }));
    expect(assumed.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${MEMBER_ACCOUNT}:assumed-role/attestd/attestd`);
    expect(assumed.Credentials?.AccessKeyId).toMatch(/^ASIA/);
    expect(assumed.Credentials?.Expiration?.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    const creds = {
      accessKeyId: assumed.Credentials?.AccessKeyId as string,
      secretAccessKey: assumed.Credentials?.SecretAccessKey as string,
      sessionToken: assumed.Credentials?.SessionToken as string,
    };
    const as = clients(sim.url, creds);
    const who = await as.sts.send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({
      Account: MEMBER_ACCOUNT,
      Arn: assumed.AssumedRoleUser?.Arn,
      UserId: assumed.AssumedRoleUser?.AssumedRoleId,
    });
    const out = await as.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0ccccccccccccccc3'] }));
    expect(out.Reservations?.[0]?.OwnerId).toBe(MEMBER_ACCOUNT);
  });

  it('assumed credentials expire (ExpiredToken) after the configured duration', async () => {
    sim.world.sessionDurationSeconds = 60;
    const assumed = await clients(sim.url, sim.world.server).sts.send(
      new AssumeRoleCommand({ RoleArn: MEMBER_ROLE, RoleSessionName: 'short' }),
    );
    const expiresIn = (assumed.Credentials?.Expiration?.getTime() ?? 0) - sim.world.now().getTime();
    expect(expiresIn).toBeLessThanOrEqual(60_000);
    const as = clients(sim.url, {
      accessKeyId: assumed.Credentials?.AccessKeyId as string,
      secretAccessKey: assumed.Credentials?.SecretAccessKey as string,
      sessionToken: assumed.Credentials?.SessionToken as string,
    });
    await expect(as.sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Account: MEMBER_ACCOUNT });
    sim.world.advanceClock(61_000);
    await expect(as.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'ExpiredToken',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(as.ec2.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({ name: 'ExpiredToken' });
  });

  it('a session key with a missing or wrong token is refused (InvalidClientTokenId)', async () => {
    const assumed = await clients(sim.url, sim.world.server).sts.send(
      new AssumeRoleCommand({ RoleArn: MEMBER_ROLE, RoleSessionName: 'tok' }),
    );
    const base = {
      accessKeyId: assumed.Credentials?.AccessKeyId as string,
      secretAccessKey: assumed.Credentials?.SecretAccessKey as string,
    };
    await expect(clients(sim.url, base).sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    });
    await expect(
      clients(sim.url, { ...base, sessionToken: 'forged' }).sts.send(new GetCallerIdentityCommand({})),
    ).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    });
  });

  it('AssumeRole of a role that does not trust the caller is AccessDenied', async () => {
    const outsider = clients(sim.url, OUTSIDER_KEY).sts;
    await expect(
      outsider.send(new AssumeRoleCommand({ RoleArn: MEMBER_ROLE, RoleSessionName: 'x1' })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      message: `User: arn:aws:iam::${OUTSIDER_ACCOUNT}:user/mallory is not authorized to perform: sts:AssumeRole on resource: ${MEMBER_ROLE}`,
      $metadata: { httpStatusCode: 403 },
    });
    const server = clients(sim.url, sim.world.server).sts;
    await expect(
      server.send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${MEMBER_ACCOUNT}:role/missing`, RoleSessionName: 'x1' }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('AssumeRole beyond the role maximum duration is a ValidationError', async () => {
    await expect(
      clients(sim.url, sim.world.server).sts.send(
        new AssumeRoleCommand({ RoleArn: MEMBER_ROLE, RoleSessionName: 'long', DurationSeconds: 7200 }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationError' });
  });

  describe('presigned GetCallerIdentity (aws_iam proofs)', () => {
    const parser = new XMLParser();

    it('accepts the request with its signed challenge header, sent with the signed Host', async () => {
      const proof = await presignedGetCallerIdentity(sim.world.server, 'nonce-123');
      expect(proof.headers.authorization).toContain('x-attestd-challenge');
      const res = await sendRaw(sim.url, proof.method, '/', proof.headers, proof.body);
      expect(res.status).toBe(200);
      const doc = parser.parse(res.body) as {
        GetCallerIdentityResponse: { GetCallerIdentityResult: Record<string, unknown> };
      };
      expect(doc.GetCallerIdentityResponse.GetCallerIdentityResult).toEqual({
        Arn: sim.world.server.arn,
        UserId: sim.world.server.userId,
        Account: Number(SERVER_ACCOUNT),
      });
      expect(res.body).toContain(`<Account>${SERVER_ACCOUNT}</Account>`);
    });

    it('refuses it when the challenge header was altered (SignatureDoesNotMatch)', async () => {
      const proof = await presignedGetCallerIdentity(sim.world.server, 'nonce-123');
      const res = await sendRaw(
        sim.url,
        proof.method,
        '/',
        { ...proof.headers, 'x-attestd-challenge': 'nonce-124' },
        proof.body,
      );
      expect(res.status).toBe(403);
      expect(res.body).toContain('<Code>SignatureDoesNotMatch</Code>');
      expect(res.body).toMatch(
        /^<\?xml[^>]*>\n<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type>/,
      );
    });

    it('refuses it when the body or the Host differ from what was signed', async () => {
      const proof = await presignedGetCallerIdentity(sim.world.server, 'nonce-123');
      const otherBody = await sendRaw(
        sim.url,
        proof.method,
        '/',
        proof.headers,
        'Action=GetCallerIdentity&Version=2011-06-15&X=1',
      );
      expect(otherBody.status).toBe(403);
      const { host: _host, ...withoutHost } = proof.headers;
      const otherHost = await sendRaw(sim.url, proof.method, '/', withoutHost, proof.body);
      expect(otherHost.status).toBe(403);
      expect(otherHost.body).toContain('SignatureDoesNotMatch');
    });

    it('refuses a proof signed more than 15 minutes ago', async () => {
      const proof = await presignedGetCallerIdentity(sim.world.server, 'n', {
        signingDate: new Date(Date.now() - 16 * 60_000),
      });
      const res = await sendRaw(sim.url, proof.method, '/', proof.headers, proof.body);
      expect(res.status).toBe(403);
      expect(res.body).toContain('Signature expired');
    });

    it('identifies assumed-role callers', async () => {
      const assumed = await clients(sim.url, sim.world.server).sts.send(
        new AssumeRoleCommand({ RoleArn: MEMBER_ROLE, RoleSessionName: 'task-42' }),
      );
      const proof = await presignedGetCallerIdentity(
        {
          accessKeyId: assumed.Credentials?.AccessKeyId as string,
          secretAccessKey: assumed.Credentials?.SecretAccessKey as string,
          sessionToken: assumed.Credentials?.SessionToken as string,
        },
        'c',
      );
      const res = await sendRaw(sim.url, proof.method, '/', proof.headers, proof.body);
      expect(res.status).toBe(200);
      expect(res.body).toContain(`<Arn>arn:aws:sts::${MEMBER_ACCOUNT}:assumed-role/attestd/task-42</Arn>`);
    });

    it('the body is exactly the form an agent sends', () => {
      expect(GET_CALLER_IDENTITY_BODY).toBe('Action=GetCallerIdentity&Version=2011-06-15');
    });
  });
});
