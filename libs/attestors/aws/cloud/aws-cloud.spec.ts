import { DependencyUnavailable } from '../../attestor';
import { until } from '@libs/testing/until';
import { startAwsSimulator, type AwsSimulator } from '@libs/testing/aws-simulator';
import {
  MEMBER_ACCOUNT,
  ORG_ROLE,
  OUTSIDER_ACCOUNT,
  SERVER_ACCOUNT,
  WEB_PROFILE,
  WEB_ROLE,
  worldInit,
} from '@libs/testing/aws-simulator/fixtures';
import { createAwsCloud, type AwsCloudOptions, type AwsCloudService } from './aws-cloud';
import type { CloudStats } from './stats';

const BLOG = 'i-0b22a22eec53b9321';
const MEMBER_INSTANCE = 'i-0ccccccccccccccc3';
const UNKNOWN = 'i-0fffffffffffffff9';
const newIds = (n: number, prefix = '0') =>
  Array.from({ length: n }, (_, i) => `i-${prefix}${i.toString(16).padStart(16, '0')}`);

describe('AwsCloud on the AWS SDK, against the simulator', () => {
  let sim: AwsSimulator;
  const made: AwsCloudService[] = [];
  const saved = { ...process.env };

  beforeEach(async () => {
    sim = await startAwsSimulator(worldInit());
    Object.assign(process.env, sim.endpointEnv());
  });
  afterEach(async () => {
    for (const c of made.splice(0)) c.close();
    await sim.close();
    process.env = { ...saved };
  });

  const cloud = (options: Partial<AwsCloudOptions> = {}) => {
    const c = createAwsCloud({ partition: 'aws', cacheTtlSeconds: 180, ...options });
    made.push(c);
    return c;
  };
  const calls = (operation: string) => sim.log.count({ operation });
  const recorder = () => {
    const requests: string[] = [];
    const lookups: string[] = [];
    const stats: CloudStats = {
      request: (service, operation, outcome) => void requests.push(`${service}:${operation}:${outcome}`),
      cache: (cache, result) => void lookups.push(`${cache}:${result}`),
    };
    return { stats, requests, lookups };
  };

  describe('accounts', () => {
    it("allows the server's own account, asking STS once", async () => {
      const c = cloud();
      expect(await c.isAccountAllowed(SERVER_ACCOUNT, {})).toBe(true);
      expect(await c.isAccountAllowed(SERVER_ACCOUNT, {})).toBe(true);
      expect(calls('GetCallerIdentity')).toBe(1);
    });

    it('allows accounts listed in awsAccountsAllowed without asking AWS', async () => {
      expect(await cloud().isAccountAllowed(OUTSIDER_ACCOUNT, { awsAccountsAllowed: [OUTSIDER_ACCOUNT] })).toBe(true);
      expect(sim.log.count()).toBe(0);
    });

    it('allows members of an organization listed through assumeOrgRoleArns, listing it once', async () => {
      const c = cloud();
      expect(await c.isAccountAllowed(MEMBER_ACCOUNT, { assumeOrgRoleArns: [ORG_ROLE] })).toBe(true);
      expect(await c.isAccountAllowed(MEMBER_ACCOUNT, { assumeOrgRoleArns: [ORG_ROLE] })).toBe(true);
      expect(calls('AssumeRole')).toBe(1);
      expect(calls('ListAccounts')).toBe(1);
      expect(sim.log.entries({ operation: 'ListAccounts' })[0]?.caller?.arn).toMatch(
        /assumed-role\/attestd-org-accounts\/attestd$/,
      );
    });

    it('reads every page of ListAccounts', async () => {
      const extra = Array.from({ length: 45 }, (_, i) => `4${String(i).padStart(11, '0')}`);
      for (const id of extra) sim.world.addAccount({ id, organizationId: 'o-abcdef0123' });
      expect(await cloud().isAccountAllowed(extra[44]!, { assumeOrgRoleArns: [ORG_ROLE] })).toBe(true);
      expect(calls('ListAccounts')).toBeGreaterThanOrEqual(3);
    });

    it('does not allow an account that no source lists', async () => {
      expect(
        await cloud().isAccountAllowed(OUTSIDER_ACCOUNT, {
          awsAccountsAllowed: [MEMBER_ACCOUNT],
          assumeOrgRoleArns: [ORG_ROLE],
        }),
      ).toBe(false);
    });

    it('fails closed when the organization cannot be listed and no other source allows the account', async () => {
      const refused = `arn:aws:iam::${OUTSIDER_ACCOUNT}:role/nope`;
      await expect(cloud().isAccountAllowed(MEMBER_ACCOUNT, { assumeOrgRoleArns: [refused] })).rejects.toThrow(
        `sts:AssumeRole refused in us-east-1 (role ${refused})`,
      );
    });

    it('still allows the own account when an organization cannot be listed', async () => {
      expect(
        await cloud().isAccountAllowed(SERVER_ACCOUNT, {
          assumeOrgRoleArns: [`arn:aws:iam::${OUTSIDER_ACCOUNT}:role/nope`],
        }),
      ).toBe(true);
    });
  });

  describe('instances', () => {
    it('describes a running instance: tags, groups, profile, root device, attach times', async () => {
      expect(await cloud().describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG)).toEqual({
        instanceId: BLOG,
        state: 'running',
        privateDnsName: expect.stringMatching(/ec2\.internal$/),
        tags: { Name: 'blog', env: 'prod' },
        securityGroups: [
          { id: 'sg-01234567', name: 'blog' },
          { id: 'sg-89abcdef', name: 'ssh' },
        ],
        instanceProfileArn: WEB_PROFILE,
        rootDeviceType: 'ebs',
        rootVolumeAttachTime: new Date('2024-05-01T10:00:03Z'),
        primaryInterfaceAttachTime: new Date('2024-05-01T10:00:00Z'),
      });
    });

    it('reports an instance-store root device', async () => {
      expect((await cloud().describeInstance(SERVER_ACCOUNT, 'us-east-1', 'i-0aaaaaaaaaaaaaaa1'))?.rootDeviceType).toBe(
        'instance-store',
      );
    });

    it('reports a stopped instance as stopped', async () => {
      sim.world.stopInstance(BLOG);
      expect((await cloud().describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG))?.state).toBe('stopped');
    });

    it('answers null for an unknown instance', async () => {
      expect(await cloud().describeInstance(SERVER_ACCOUNT, 'us-east-1', UNKNOWN)).toBeNull();
    });

    it('answers the known instances batched with an unknown one', async () => {
      const c = cloud();
      const ids = [BLOG, UNKNOWN, 'i-0aaaaaaaaaaaaaaa1'];
      const found = await Promise.all(ids.map((id) => c.describeInstance(SERVER_ACCOUNT, 'us-east-1', id)));
      expect(found.map((i) => i?.instanceId ?? null)).toEqual([BLOG, null, 'i-0aaaaaaaaaaaaaaa1']);
      expect(calls('DescribeInstances')).toBe(2); // the batch, then the batch without the id EC2 named
    });

    it('serves a second look-up from the cache, without a request', async () => {
      const { stats, lookups } = recorder();
      const c = cloud({ stats });
      await c.describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG);
      await c.describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG);
      expect(calls('DescribeInstances')).toBe(1);
      expect(lookups).toEqual(['aws_ec2_instances:miss', 'aws_ec2_instances:hit']);
    });

    it('coalesces 100 concurrent look-ups of one instance into one request', async () => {
      const c = cloud();
      const found = await Promise.all(
        Array.from({ length: 100 }, () => c.describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG)),
      );
      expect(found.every((i) => i?.instanceId === BLOG)).toBe(true);
      expect(calls('DescribeInstances')).toBe(1);
    });

    it('batches a burst of 200 concurrent new instances in one account and region into at most 10 DescribeInstances calls', async () => {
      const ids = newIds(200);
      for (const instanceId of ids)
        sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId });
      const c = cloud();
      const found = await Promise.all(ids.map((id) => c.describeInstance(SERVER_ACCOUNT, 'us-east-1', id)));
      expect(found.every((instance, i) => instance?.instanceId === ids[i])).toBe(true);
      const count = calls('DescribeInstances');
      console.info(`200 concurrent new instances: ${count} DescribeInstances calls`);
      expect(count).toBeLessThanOrEqual(10);
    });

    it('batches 200 new instances arriving over ~1 s, with 20 ms EC2 latency, into at most 10 calls (about one per 400 ms)', async () => {
      const ids = newIds(200);
      for (const instanceId of ids)
        sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', instanceId });
      sim.world.setLatency('ec2', 20);
      const c = cloud();
      const pending: Promise<unknown>[] = [];
      const started = Date.now();
      for (const [i, id] of ids.entries()) {
        pending.push(c.describeInstance(SERVER_ACCOUNT, 'us-east-1', id));
        if (i % 4 === 3) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const spread = Date.now() - started;
      await Promise.all(pending);
      const count = calls('DescribeInstances');
      console.info(`200 new instances over ${spread} ms: ${count} DescribeInstances calls`);
      expect(count).toBeLessThanOrEqual(Math.ceil(spread / 400) + 2);
      expect(count).toBeLessThanOrEqual(10);
    });

    it("assumes aws.assumeRoleName in the agent's account for DescribeInstances, and reuses the credentials", async () => {
      const c = cloud({ assumeRoleName: 'attestd' });
      expect((await c.describeInstance(MEMBER_ACCOUNT, 'us-east-1', MEMBER_INSTANCE))?.state).toBe('running');
      sim.world.addInstance({ accountId: MEMBER_ACCOUNT, region: 'us-east-1', instanceId: 'i-0ccccccccccccccc4' });
      await c.describeInstance(MEMBER_ACCOUNT, 'us-east-1', 'i-0ccccccccccccccc4');
      const callers = sim.log.entries({ operation: 'DescribeInstances' }).map((e) => e.caller?.arn);
      expect(callers).toEqual(Array(2).fill(`arn:aws:sts::${MEMBER_ACCOUNT}:assumed-role/attestd/attestd`));
      expect(sim.log.entries({ operation: 'AssumeRole' }).map((e) => e.params.RoleArn)).toEqual([
        `arn:aws:iam::${MEMBER_ACCOUNT}:role/attestd`,
      ]);
    });

    it("without aws.assumeRoleName, looks with the server's own identity (and so sees only its own account)", async () => {
      expect(await cloud().describeInstance(MEMBER_ACCOUNT, 'us-east-1', MEMBER_INSTANCE)).toBeNull();
      expect(sim.log.entries({ operation: 'DescribeInstances' })[0]?.caller?.accountId).toBe(SERVER_ACCOUNT);
    });

    it("fails closed, naming the role, when the agent's account refuses AssumeRole", async () => {
      sim.world.addInstance({ accountId: OUTSIDER_ACCOUNT, region: 'us-east-1', instanceId: 'i-0eeeeeeeeeeeeeee5' });
      const error = await cloud({ assumeRoleName: 'attestd' })
        .describeInstance(OUTSIDER_ACCOUNT, 'us-east-1', 'i-0eeeeeeeeeeeeeee5')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyUnavailable);
      expect((error as Error).message).toContain(
        `sts:AssumeRole refused in us-east-1 (role arn:aws:iam::${OUTSIDER_ACCOUNT}:role/attestd): AccessDenied`,
      );
      expect(calls('DescribeInstances')).toBe(0);
    });

    it('refreshes assumed-role credentials ahead of expiry: logins keep using the current ones meanwhile, then the new ones', async () => {
      sim.world.sessionDurationSeconds = 8 * 60; // 8-minute sessions are inside the 10-minute refresh-ahead window at once
      sim.world.setLatency('sts', 2_500); // AssumeRole is slow (the test clients time out at 3 s): the background one is still running during the second login...
      const c = cloud({ assumeRoleName: 'attestd' });
      await c.describeInstance(MEMBER_ACCOUNT, 'us-east-1', MEMBER_INSTANCE);
      const extra = newIds(2, 'd');
      for (const instanceId of extra)
        sim.world.addInstance({ accountId: MEMBER_ACCOUNT, region: 'us-east-1', instanceId });
      const started = Date.now();
      await c.describeInstance(MEMBER_ACCOUNT, 'us-east-1', extra[0]!);
      expect(Date.now() - started).toBeLessThan(2_000); // ...and no login waits for it (a margin for a loaded machine)
      // the background AssumeRole is logged when the simulator answers; give its answer time to be cached
      await until(() => calls('AssumeRole') >= 2);
      await new Promise((resolve) => setTimeout(resolve, 500));
      await c.describeInstance(MEMBER_ACCOUNT, 'us-east-1', extra[1]!);
      const keys = sim.log.entries({ operation: 'DescribeInstances' }).map((e) => e.caller?.accessKeyId);
      expect(keys[1]).toBe(keys[0]);
      expect(keys[2]).not.toBe(keys[1]);
      expect(calls('AssumeRole')).toBeGreaterThanOrEqual(2);
    });
  });

  describe('instance profiles', () => {
    it('lists the roles of an instance profile, once', async () => {
      const c = cloud();
      expect(await c.instanceProfileRoles(SERVER_ACCOUNT, 'us-east-1', WEB_PROFILE)).toEqual([WEB_ROLE]);
      expect(await c.instanceProfileRoles(SERVER_ACCOUNT, 'us-east-1', WEB_PROFILE)).toEqual([WEB_ROLE]);
      expect(calls('GetInstanceProfile')).toBe(1);
    });

    it('answers no roles for a profile that no longer exists', async () => {
      expect(
        await cloud().instanceProfileRoles(
          SERVER_ACCOUNT,
          'us-east-1',
          `arn:aws:iam::${SERVER_ACCOUNT}:instance-profile/gone`,
        ),
      ).toEqual([]);
    });
  });

  describe('EKS', () => {
    it('finds the cluster whose node group holds the instance (an unknown cluster has none)', async () => {
      expect(await cloud().eksClusterOf(SERVER_ACCOUNT, 'us-east-1', BLOG, ['other', 'prod'])).toBe('prod');
    });

    it('answers null for an instance in no node group of the clusters, and re-lists at most once per recheck window', async () => {
      const c = cloud();
      expect(await c.eksClusterOf(SERVER_ACCOUNT, 'us-east-1', 'i-0bbbbbbbbbbbbbbb2', ['prod'])).toBeNull();
      const first = sim.log.count();
      expect(await c.eksClusterOf(SERVER_ACCOUNT, 'us-east-1', 'i-0bbbbbbbbbbbbbbb2', ['prod'])).toBeNull();
      expect(sim.log.count()).toBe(first);
      expect(calls('ListNodegroups')).toBe(1);
      expect(calls('DescribeNodegroup')).toBe(2);
      expect(calls('DescribeAutoScalingGroups')).toBe(1);
    });

    it("looks in the agent's account with the assumed role", async () => {
      sim.world.addEksCluster({
        accountId: MEMBER_ACCOUNT,
        region: 'us-east-1',
        name: 'm',
        nodeGroups: [{ name: 'ng', autoScalingGroupNames: ['asg-m'] }],
      });
      sim.world.addAutoScalingGroup({
        accountId: MEMBER_ACCOUNT,
        region: 'us-east-1',
        name: 'asg-m',
        instanceIds: [MEMBER_INSTANCE],
      });
      expect(
        await cloud({ assumeRoleName: 'attestd' }).eksClusterOf(MEMBER_ACCOUNT, 'us-east-1', MEMBER_INSTANCE, ['m']),
      ).toBe('m');
    });
  });

  describe('failures', () => {
    const quick = { sdk: { maxAttempts: 3, connectionTimeoutMs: 500, requestTimeoutMs: 500 } };

    it('fails closed with DependencyUnavailable, quickly, when AWS resets connections', async () => {
      sim.world.setDown('*', 'reset');
      const started = Date.now();
      await expect(cloud().describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG)).rejects.toThrow(
        /^aws: ec2:DescribeInstances unavailable in us-east-1 \(account 111111111111\): /,
      );
      await expect(cloud().isAccountAllowed(SERVER_ACCOUNT, {})).rejects.toThrow(DependencyUnavailable);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('fails closed when AWS answers 503, after the bounded retries', async () => {
      sim.world.setDown('ec2', '503');
      await expect(cloud().describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG)).rejects.toThrow(DependencyUnavailable);
      expect(calls('DescribeInstances')).toBe(3);
    });

    it('fails closed within the request timeout when AWS hangs', async () => {
      // AWS would answer after 10 s; two 200 ms attempts give up long before,
      // however loaded the machine (the bound is the hang, not a speed)
      sim.world.setLatency('ec2', 10_000);
      const started = Date.now();
      await expect(
        cloud({ sdk: { maxAttempts: 2, connectionTimeoutMs: 200, requestTimeoutMs: 200 } }).describeInstance(
          SERVER_ACCOUNT,
          'us-east-1',
          BLOG,
        ),
      ).rejects.toThrow(DependencyUnavailable);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('fails closed when EC2 throttles past the bounded retries, counts the failure, and does not cache it', async () => {
      const { stats, requests } = recorder();
      sim.world.setThrottle('ec2', 10);
      const c = cloud({ stats, ...quick });
      await expect(c.describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG)).rejects.toThrow(
        /ec2:DescribeInstances unavailable in us-east-1 .*RequestLimitExceeded.* after 3 attempts/,
      );
      expect(calls('DescribeInstances')).toBe(3);
      expect(requests).toEqual(['ec2:DescribeInstances:failure']);
      sim.world.clearFaults();
      expect((await c.describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG))?.state).toBe('running');
      expect(requests).toEqual(['ec2:DescribeInstances:failure', 'ec2:DescribeInstances:success']);
    });

    it("rides out one throttled answer with the SDK's retry", async () => {
      sim.world.setThrottle('ec2', 1);
      expect((await cloud().describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG))?.state).toBe('running');
      expect(calls('DescribeInstances')).toBe(2);
    });

    it('fails every login of a batch when its call fails, and none is cached', async () => {
      sim.world.setDown('ec2', '503');
      const c = cloud(quick);
      const results = await Promise.allSettled(
        [BLOG, 'i-0aaaaaaaaaaaaaaa1'].map((id) => c.describeInstance(SERVER_ACCOUNT, 'us-east-1', id)),
      );
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      sim.world.clearFaults();
      expect(await c.describeInstance(SERVER_ACCOUNT, 'us-east-1', BLOG)).not.toBeNull();
    });
  });
});
