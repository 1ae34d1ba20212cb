import type { AwsAccountConfig, AwsCloud, Ec2Instance } from '../ports';
import { AccountGate } from './accounts';
import { Batcher } from './batcher';
import { CoalescingCache } from './cache';
import { AwsClients, DEFAULT_SDK_LIMITS, type Identity, type SdkLimits } from './clients';
import { AssumedRoles, roleArnOf } from './credentials';
import { describeInstances, toEc2Instance } from './ec2';
import { EksMembership } from './eks';
import { awsCall, errorName } from './errors';
import { CACHE_NAMES, NO_STATS, type CloudStats } from './stats';

export type AwsPartition = 'aws' | 'aws-cn' | 'aws-us-gov';

export interface AwsCloudOptions {
  /** `aws.partition`: the ARNs of assumed roles */
  partition: AwsPartition;
  /** `aws.assumeRoleName`: act in the agent's account as `arn:{partition}:iam::{account}:role/{name}`; else as the server itself */
  assumeRoleName?: string;
  /** `cloudCacheTtl`, in seconds */
  cacheTtlSeconds: number;
  /** bound on the entries of each cache; default 10,000 */
  maxEntries?: number;
  /** counters for `attestd.cloud.requests` and `attestd.cache.lookups` */
  stats?: CloudStats;
  /** region of the STS, IAM and Organizations calls (the server passes AWS_REGION); default the partition's main region */
  region?: string;
  /** SDK attempts and timeouts; default 3 attempts, 2 s to connect, 3 s per request */
  sdk?: Partial<SdkLimits>;
}

/** An AwsCloud that can also let go of its connections (server shutdown, tests). */
export interface AwsCloudService extends AwsCloud {
  close(): void;
}

/** Instances in any other state than running, and unknown ones, are re-asked this soon: one that is starting up must not be refused for a whole TTL. */
export const UNSETTLED_INSTANCE_TTL_MS = 15_000;
const DEFAULT_MAX_ENTRIES = 10_000;
const HOME_REGIONS: Record<AwsPartition, string> = {
  aws: 'us-east-1',
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1',
};

/**
 * The AwsCloud port on the AWS SDK v3: every look-up cached (bounded, TTL),
 * concurrent identical look-ups coalesced, DescribeInstances batched per
 * account and region, assumed-role credentials refreshed ahead of expiry, and
 * every AWS failure surfaced as DependencyUnavailable (fail closed, 503).
 */
export function createAwsCloud(options: AwsCloudOptions): AwsCloudService {
  return new SdkAwsCloud(options);
}

class SdkAwsCloud implements AwsCloudService {
  private readonly clients: AwsClients;
  private readonly stats: CloudStats;
  private readonly roles: AssumedRoles;
  private readonly accounts: AccountGate;
  private readonly eks: EksMembership;
  private readonly instances: CoalescingCache<string, Ec2Instance | null>;
  private readonly profiles: CoalescingCache<string, string[]>;
  private readonly batchers = new Map<string, Batcher<Ec2Instance>>();
  private readonly homeRegion: string;

  constructor(private readonly options: AwsCloudOptions) {
    this.stats = options.stats ?? NO_STATS;
    this.clients = new AwsClients({ ...DEFAULT_SDK_LIMITS, ...options.sdk });
    this.homeRegion = options.region ?? HOME_REGIONS[options.partition];
    const ttlMs = options.cacheTtlSeconds * 1000;
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const cache = { ttlMs, maxEntries };
    this.roles = new AssumedRoles(this.clients, this.stats, this.homeRegion, maxEntries);
    this.accounts = new AccountGate(this.clients, this.roles, this.stats, this.homeRegion, cache);
    this.eks = new EksMembership(this.clients, this.stats, cache);
    this.instances = new CoalescingCache({
      name: CACHE_NAMES.instances,
      max: maxEntries,
      ttlMs,
      ttlOf: (instance) => (instance?.state === 'running' ? ttlMs : Math.min(ttlMs, UNSETTLED_INSTANCE_TTL_MS)),
      stats: this.stats,
    });
    this.profiles = new CoalescingCache({
      name: CACHE_NAMES.instanceProfiles,
      max: maxEntries,
      ttlMs,
      stats: this.stats,
    });
  }

  isAccountAllowed(accountId: string, config: AwsAccountConfig): Promise<boolean> {
    return this.accounts.isAccountAllowed(accountId, config);
  }

  describeInstance(accountId: string, region: string, instanceId: string): Promise<Ec2Instance | null> {
    return this.instances.get(`${accountId}/${region}/${instanceId}`, () =>
      this.batcher(accountId, region).lookup(instanceId),
    );
  }

  instanceProfileRoles(accountId: string, _region: string, instanceProfileArn: string): Promise<string[]> {
    // IAM is global: one client per identity, in the home region.
    return this.profiles.get(`${accountId}/${instanceProfileArn}`, async () => {
      const name = instanceProfileArn.slice(instanceProfileArn.lastIndexOf('/') + 1);
      const { client: iam, sdk } = await this.clients.get('iam', this.homeRegion, this.identity(accountId));
      const site = {
        service: 'iam',
        operation: 'GetInstanceProfile',
        region: this.homeRegion,
        target: instanceProfileArn,
      };
      const roles = await awsCall(
        this.stats,
        site,
        async () =>
          (await iam.send(new sdk.GetInstanceProfileCommand({ InstanceProfileName: name }))).InstanceProfile?.Roles ??
          [],
        // a profile deleted since the instance was described has no roles
        (error) => (errorName(error) === 'NoSuchEntity' ? [] : undefined),
      );
      return roles.flatMap((role) => (role.Arn ? [role.Arn] : []));
    });
  }

  eksClusterOf(accountId: string, region: string, instanceId: string, clusterNames: string[]): Promise<string | null> {
    return this.eks.clusterOf({ accountId, region, identity: this.identity(accountId) }, instanceId, clusterNames);
  }

  close(): void {
    this.clients.destroy();
  }

  /** One batcher per account and region: a DescribeInstances call is scoped to both. */
  private batcher(accountId: string, region: string): Batcher<Ec2Instance> {
    const key = `${accountId}/${region}`;
    let batcher = this.batchers.get(key);
    if (!batcher) {
      const where = { accountId, region, identity: this.identity(accountId) };
      batcher = new Batcher(async (ids) => {
        const found = await describeInstances(this.clients, this.stats, where, ids);
        return new Map([...found].map(([id, instance]) => [id, toEc2Instance(instance)]));
      });
      this.batchers.set(key, batcher);
    }
    return batcher;
  }

  /** Whose credentials act in `accountId`: the assumed role, or the server itself. */
  private identity(accountId: string): Identity {
    const name = this.options.assumeRoleName;
    return name ? this.roles.identity(roleArnOf(this.options.partition, accountId, name)) : undefined;
  }
}
