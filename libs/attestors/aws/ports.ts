/**
 * What the AWS attestors need from AWS, as ports: the attestors stay free of
 * SDK clients, caches and credentials; `libs/attestors/aws/cloud` implements
 * them with the AWS SDK v3 (cached, coalesced, batched), tests may fake them.
 * Every method throws DependencyUnavailable (../attestor) when AWS cannot be
 * reached or keeps throttling: the login then fails closed with 503.
 */

/** The per-policy account settings shared by `aws_iid` and `aws_iam` (`policy.md`). */
export interface AwsAccountConfig {
  awsAccountsAllowed?: string[];
  assumeOrgRoleArns?: string[];
}

export interface AwsAccountGate {
  /**
   * Whether the account may attest: the server's own account
   * (`sts:GetCallerIdentity`), one of `awsAccountsAllowed`, or a member of an
   * organization listed through one of `assumeOrgRoleArns`.
   */
  isAccountAllowed(accountId: string, config: AwsAccountConfig): Promise<boolean>;
}

export interface Ec2Instance {
  instanceId: string;
  /** `pending`, `running`, `stopped`, ... */
  state: string;
  privateDnsName?: string;
  tags: Record<string, string>;
  securityGroups: { id: string; name: string }[];
  instanceProfileArn?: string;
  rootDeviceType: 'ebs' | 'instance-store';
  /** attach time of the EBS volume mounted at the root device name */
  rootVolumeAttachTime?: Date;
  /** attach time of the network interface at device index 0 */
  primaryInterfaceAttachTime?: Date;
}

export interface AwsCloud extends AwsAccountGate {
  /** null when EC2 does not know the instance */
  describeInstance(accountId: string, region: string, instanceId: string): Promise<Ec2Instance | null>;
  /** role ARNs of an instance profile */
  instanceProfileRoles(accountId: string, region: string, instanceProfileArn: string): Promise<string[]>;
  /** the first of `clusterNames` with a node group whose Auto Scaling group holds the instance, or null */
  eksClusterOf(accountId: string, region: string, instanceId: string, clusterNames: string[]): Promise<string | null>;
}

/** A presigned STS request, as `aws_iam` sends it on the agent's behalf. */
export interface StsRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

export interface StsSender {
  /**
   * Sends exactly this request to an already-vetted STS URL: no redirects,
   * a short timeout, a response size cap. Resolves with the status and body.
   */
  send(request: StsRequest): Promise<{ status: number; body: string }>;
}
