import type { DescribeAutoScalingGroupsCommandOutput } from '@aws-sdk/client-auto-scaling';
import type { ListNodegroupsCommandOutput } from '@aws-sdk/client-eks';
import { DependencyUnavailable } from '../../attestor';
import { CoalescingCache } from './cache';
import type { AwsClients, Identity } from './clients';
import { awsCall, errorName } from './errors';
import { CACHE_NAMES, type CloudStats } from './stats';

/**
 * A cached answer that does not hold the instance is asked again if it is at
 * least this old: a node that just joined is not refused for a whole TTL, and
 * a stream of logins from non-members costs at most one re-list per cluster
 * this often.
 */
export const MISS_RECHECK_MS = 10_000;
const MAX_PAGES = 100;

const notFound = (error: unknown) => errorName(error) === 'ResourceNotFoundException';

export interface EksWhere {
  accountId: string;
  region: string;
  identity: Identity;
}

/**
 * Step 7 of `aws_iid`: is the instance in an Auto Scaling group of a node
 * group of one of the policy's EKS clusters? Three look-ups, each cached on
 * its own level, because they change at different rates:
 * `eks:ListNodegroups` (cluster → node groups), `eks:DescribeNodegroup`
 * (node group → Auto Scaling groups) and
 * `autoscaling:DescribeAutoScalingGroups` (groups → instances, the level that
 * changes with every scale-out). A cluster or node group that does not exist
 * has no members (cached like any answer); anything else that fails is
 * DependencyUnavailable.
 */
export class EksMembership {
  private readonly nodegroups: CoalescingCache<string, string[]>;
  private readonly groupsOfNodegroup: CoalescingCache<string, string[]>;
  private readonly members: CoalescingCache<string, ReadonlySet<string>>;

  constructor(
    private readonly clients: AwsClients,
    private readonly stats: CloudStats,
    cache: { ttlMs: number; maxEntries: number },
  ) {
    const max = Math.min(cache.maxEntries, 10_000);
    this.nodegroups = new CoalescingCache({ name: CACHE_NAMES.eksNodegroups, max, ttlMs: cache.ttlMs, stats });
    this.groupsOfNodegroup = new CoalescingCache({
      name: CACHE_NAMES.eksNodegroupGroups,
      max,
      ttlMs: cache.ttlMs,
      stats,
    });
    this.members = new CoalescingCache({ name: CACHE_NAMES.autoScalingMembers, max, ttlMs: cache.ttlMs, stats });
  }

  /** The first of `clusterNames` that holds the instance, or null: cached answers first, then re-asked ones. */
  async clusterOf(where: EksWhere, instanceId: string, clusterNames: string[]): Promise<string | null> {
    for (const recheck of [false, true]) {
      for (const cluster of clusterNames) {
        if ((await this.instancesOf(where, cluster, recheck)).has(instanceId)) return cluster;
      }
    }
    return null;
  }

  private async instancesOf(where: EksWhere, cluster: string, recheck: boolean): Promise<ReadonlySet<string>> {
    const reload = recheck ? { reloadIfOlderThanMs: MISS_RECHECK_MS } : {};
    const base = `${where.accountId}/${where.region}/${cluster}`;
    const nodegroups = await this.nodegroups.get(base, () => this.listNodegroups(where, cluster), reload);
    const groups = new Set<string>();
    for (const nodegroup of nodegroups) {
      for (const group of await this.groupsOfNodegroup.get(
        `${base}/${nodegroup}`,
        () => this.describeNodegroup(where, cluster, nodegroup),
        reload,
      ))
        groups.add(group);
    }
    if (groups.size === 0) return new Set();
    const names = [...groups].sort();
    return this.members.get(
      `${where.accountId}/${where.region}/${names.join(',')}`,
      () => this.describeGroups(where, names),
      reload,
    );
  }

  private async listNodegroups(where: EksWhere, cluster: string): Promise<string[]> {
    const { client: eks, sdk } = await this.clients.get('eks', where.region, where.identity);
    const site = {
      service: 'eks',
      operation: 'ListNodegroups',
      region: where.region,
      target: `account ${where.accountId}, cluster ${cluster}`,
    };
    const names: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer: ListNodegroupsCommandOutput | null = await awsCall<ListNodegroupsCommandOutput | null>(
        this.stats,
        site,
        () => eks.send(new sdk.ListNodegroupsCommand({ clusterName: cluster, ...(token && { nextToken: token }) })),
        (error) => (notFound(error) ? null : undefined),
      );
      if (!answer) return [];
      names.push(...(answer.nodegroups ?? []));
      token = answer.nextToken;
      if (!token) return names;
    }
    throw new DependencyUnavailable(
      `aws: eks:ListNodegroups did not end after ${MAX_PAGES} pages in ${where.region} (cluster ${cluster})`,
    );
  }

  private async describeNodegroup(where: EksWhere, cluster: string, nodegroup: string): Promise<string[]> {
    const { client: eks, sdk } = await this.clients.get('eks', where.region, where.identity);
    const site = {
      service: 'eks',
      operation: 'DescribeNodegroup',
      region: where.region,
      target: `account ${where.accountId}, cluster ${cluster}`,
    };
    const answer = await awsCall(
      this.stats,
      site,
      async () =>
        (await eks.send(new sdk.DescribeNodegroupCommand({ clusterName: cluster, nodegroupName: nodegroup }))).nodegroup
          ?.resources?.autoScalingGroups ?? [],
      (error) => (notFound(error) ? [] : undefined),
    );
    return answer.flatMap((group) => (group.name ? [group.name] : []));
  }

  private async describeGroups(where: EksWhere, names: string[]): Promise<ReadonlySet<string>> {
    const { client: autoscaling, sdk } = await this.clients.get('autoscaling', where.region, where.identity);
    const site = {
      service: 'autoscaling',
      operation: 'DescribeAutoScalingGroups',
      region: where.region,
      target: `account ${where.accountId}`,
    };
    const instances = new Set<string>();
    // the API takes up to 100 names a call (MaxRecords), and pages its answer
    for (let i = 0; i < names.length; i += 100) {
      let token: string | undefined;
      for (let page = 0; ; page++) {
        if (page === MAX_PAGES)
          throw new DependencyUnavailable(
            `aws: autoscaling:DescribeAutoScalingGroups did not end after ${MAX_PAGES} pages in ${where.region}`,
          );
        const answer: DescribeAutoScalingGroupsCommandOutput = await awsCall(this.stats, site, () =>
          autoscaling.send(
            new sdk.DescribeAutoScalingGroupsCommand({
              AutoScalingGroupNames: names.slice(i, i + 100),
              MaxRecords: 100,
              ...(token && { NextToken: token }),
            }),
          ),
        );
        for (const group of answer.AutoScalingGroups ?? [])
          for (const instance of group.Instances ?? []) if (instance.InstanceId) instances.add(instance.InstanceId);
        token = answer.NextToken;
        if (!token) break;
      }
    }
    return instances;
  }
}
