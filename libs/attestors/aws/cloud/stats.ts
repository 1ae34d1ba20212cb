/**
 * Counters the server exports as `attestd.cloud.requests` (labels `service`,
 * `operation`, `outcome`) and `attestd.cache.lookups` (`cache`, `result`),
 * operations.md. The cloud layer does not depend on OpenTelemetry: the server
 * passes an object that forwards to its meter; without one, nothing is counted.
 */
export interface CloudStats {
  /** one AWS API call (one page of a paginated list), after the SDK's own retries */
  request(service: string, operation: string, outcome: 'success' | 'failure'): void;
  /** one cache look-up: `hit` when no AWS call was started for it (cached, or joined one in flight) */
  cache(cache: string, result: 'hit' | 'miss'): void;
}

export const NO_STATS: CloudStats = { request: () => undefined, cache: () => undefined };

/** The `cache` label values, one per cache of this layer. */
export const CACHE_NAMES = {
  ownAccount: 'aws_own_account',
  organizationAccounts: 'aws_organization_accounts',
  assumedRoles: 'aws_assumed_role_credentials',
  instances: 'aws_ec2_instances',
  instanceProfiles: 'aws_iam_instance_profiles',
  eksNodegroups: 'aws_eks_nodegroups',
  eksNodegroupGroups: 'aws_eks_nodegroup_autoscaling_groups',
  autoScalingMembers: 'aws_autoscaling_group_instances',
} as const;
