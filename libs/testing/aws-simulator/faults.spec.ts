import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient, ListNodegroupsCommand } from '@aws-sdk/client-eks';
import { GetInstanceProfileCommand, IAMClient } from '@aws-sdk/client-iam';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { clientConfig, clients, SERVER_ACCOUNT, worldInit } from './fixtures';
import { startAwsSimulator, type AwsSimulator } from './index';

describe('aws-simulator faults, request log and endpoint environment', () => {
  let sim: AwsSimulator;

  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
  });
  afterAll(() => sim?.close());
  afterEach(() => {
    sim.world.clearFaults();
    sim.log.reset();
  });

  it('throttles the next N calls of an operation (RequestLimitExceeded in EC2, Throttling in STS)', async () => {
    const { ec2, sts } = clients(sim.url, sim.world.server);
    sim.world.setThrottle('ec2', 2, 'DescribeInstances');
    sim.world.setThrottle('sts', 1);
    const describe = () => ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0b22a22eec53b9321'] }));
    await expect(describe()).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
      $metadata: { httpStatusCode: 503 },
    });
    await expect(describe()).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
    await expect(describe()).resolves.toBeDefined();
    await expect(sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'Throttling',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
    expect(sim.log.count({ operation: 'DescribeInstances' })).toBe(3);
    expect(sim.log.count({ operation: 'DescribeInstances', succeeded: true })).toBe(1);
    expect(sim.log.entries({ operation: 'DescribeInstances' }).map((e) => e.error)).toEqual([
      'RequestLimitExceeded',
      'RequestLimitExceeded',
      undefined,
    ]);
  });

  it("the SDK's own retries get through a short throttle, and the log counts every attempt", async () => {
    const ec2 = new EC2Client({ ...clientConfig(sim.url, sim.world.server), maxAttempts: 3 });
    sim.world.setThrottle('ec2', 1);
    await expect(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0b22a22eec53b9321'] })),
    ).resolves.toBeDefined();
    expect(sim.log.count({ service: 'ec2' })).toBe(2);
  });

  it("down '503' answers ServiceUnavailable; down 'reset' drops the connection", async () => {
    const { ec2, iam } = clients(sim.url, sim.world.server);
    sim.world.setDown('ec2', '503');
    await expect(ec2.send(new DescribeInstancesCommand({}))).rejects.toMatchObject({
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 },
    });
    await expect(iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'web' }))).resolves.toBeDefined();
    sim.world.setDown('*', 'reset');
    await expect(iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'web' }))).rejects.toThrow();
    expect(sim.log.entries({ service: 'iam' }).at(-1)?.error).toBe('ConnectionReset');
    sim.world.setDown('*', false);
    sim.world.setDown('ec2', false);
    await expect(ec2.send(new DescribeInstancesCommand({}))).resolves.toBeDefined();
  });

  it('adds latency to a service', async () => {
    const { sts, ec2 } = clients(sim.url, sim.world.server);
    sim.world.setLatency('sts', 3_000);
    let t = Date.now();
    await sts.send(new GetCallerIdentityCommand({}));
    expect(Date.now() - t).toBeGreaterThanOrEqual(2_990);
    t = Date.now();
    await ec2.send(new DescribeInstancesCommand({}));
    expect(Date.now() - t).toBeLessThan(2_500); // EC2 has no latency: well under STS's, with room for a loaded machine
  });

  it('logs service, operation, caller, region, params and time; counts a concurrent burst; resets', async () => {
    const { ec2 } = clients(sim.url, sim.world.server);
    const before = new Date();
    await Promise.all(
      Array.from({ length: 25 }, () =>
        ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0b22a22eec53b9321'] })),
      ),
    );
    expect(sim.log.count({ service: 'ec2', operation: 'DescribeInstances' })).toBe(25);
    const e = sim.log.entries()[0];
    expect(e).toMatchObject({
      service: 'ec2',
      operation: 'DescribeInstances',
      caller: { accountId: SERVER_ACCOUNT, arn: sim.world.server.arn, accessKeyId: sim.world.server.accessKeyId },
      region: 'us-east-1',
      params: { 'InstanceId.1': 'i-0b22a22eec53b9321' },
      status: 200,
    });
    expect(e?.time.getTime()).toBeGreaterThanOrEqual(before.getTime() - 5);
    expect(sim.log.count({ accountId: SERVER_ACCOUNT })).toBe(25);
    sim.log.reset();
    expect(sim.log.count()).toBe(0);
  });

  describe('endpointEnv()', () => {
    const saved = { ...process.env };
    afterEach(() => {
      process.env = { ...saved };
    });

    it('points SDK clients built from the environment alone (AWS_ENDPOINT_URL_*, AWS_REGION, keys) at the simulator', async () => {
      for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
      Object.assign(process.env, sim.endpointEnv(), {
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      });
      expect(Object.keys(sim.endpointEnv()).sort()).toEqual([
        'AWS_ACCESS_KEY_ID',
        'AWS_ENDPOINT_URL_AUTO_SCALING',
        'AWS_ENDPOINT_URL_EC2',
        'AWS_ENDPOINT_URL_EKS',
        'AWS_ENDPOINT_URL_IAM',
        'AWS_ENDPOINT_URL_ORGANIZATIONS',
        'AWS_ENDPOINT_URL_STS',
        'AWS_REGION',
        'AWS_SECRET_ACCESS_KEY',
      ]);
      const opts = { maxAttempts: 1 };
      await expect(new STSClient(opts).send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({
        Account: SERVER_ACCOUNT,
      });
      await expect(new EC2Client(opts).send(new DescribeInstancesCommand({}))).resolves.toBeDefined();
      await expect(
        new IAMClient(opts).send(new GetInstanceProfileCommand({ InstanceProfileName: 'web' })),
      ).resolves.toBeDefined();
      await expect(new OrganizationsClient(opts).send(new ListAccountsCommand({}))).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
      await expect(new EKSClient(opts).send(new ListNodegroupsCommand({ clusterName: 'prod' }))).resolves.toBeDefined();
      await expect(new AutoScalingClient(opts).send(new DescribeAutoScalingGroupsCommand({}))).resolves.toBeDefined();
      expect(new Set(sim.log.entries().map((e) => e.service))).toEqual(
        new Set(['sts', 'ec2', 'iam', 'organizations', 'eks', 'autoscaling']),
      );
    });
  });
});
