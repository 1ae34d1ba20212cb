import { randomBytes, randomUUID } from 'node:crypto';

// The fixture "world" the simulator serves: accounts, instances, IAM, STS
// identities, organizations, EKS and Auto Scaling, plus fault settings. Test
// support only. Everything is scoped as AWS scopes it: EC2, EKS and Auto
// Scaling by account and region, IAM by account, so a caller only sees what
// its credentials' account owns.

export type ServiceName = 'ec2' | 'iam' | 'sts' | 'organizations' | 'eks' | 'autoscaling';
export const SERVICE_NAMES: readonly ServiceName[] = ['ec2', 'iam', 'sts', 'organizations', 'eks', 'autoscaling'];

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/** EC2's `instanceState/code` values. */
export const INSTANCE_STATE_CODES: Readonly<Record<InstanceState, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface SecurityGroup {
  id: string;
  name: string;
}

export interface InstanceInit {
  accountId: string;
  region: string;
  /** `i-` + 8 or 17 hex digits; generated when absent */
  instanceId?: string;
  state?: InstanceState;
  imageId?: string;
  instanceType?: string;
  privateIp?: string;
  privateDnsName?: string;
  /** default `<region>a` */
  availabilityZone?: string;
  tags?: Record<string, string>;
  securityGroups?: SecurityGroup[];
  iamInstanceProfileArn?: string;
  rootDeviceType?: 'ebs' | 'instance-store';
  rootDeviceName?: string;
  /** EBS root volume attach time; default launchTime + 2 s */
  rootDeviceAttachTime?: Date;
  /** attach time of the network interface at device index 0; default launchTime */
  networkInterfaceAttachTime?: Date;
  /** default one hour before creation, whole seconds (also the IID `pendingTime`) */
  launchTime?: Date;
  architecture?: string;
  reservationId?: string;
  subnetId?: string;
  vpcId?: string;
}

export interface Instance {
  accountId: string;
  region: string;
  instanceId: string;
  state: InstanceState;
  imageId: string;
  instanceType: string;
  privateIp: string;
  privateDnsName: string;
  availabilityZone: string;
  tags: Record<string, string>;
  securityGroups: SecurityGroup[];
  iamInstanceProfileArn?: string;
  rootDeviceType: 'ebs' | 'instance-store';
  rootDeviceName: string;
  rootDeviceAttachTime: Date;
  networkInterfaceAttachTime: Date;
  launchTime: Date;
  architecture: string;
  reservationId: string;
  subnetId: string;
  vpcId: string;
  /** stable derived ids for the response */
  volumeId: string;
  networkInterfaceId: string;
}

export interface AccountInit {
  id: string;
  name?: string;
  email?: string;
  status?: 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE';
  /** `o-...`: member of that organization (see `organizations`) */
  organizationId?: string;
}

export interface Account extends Required<Omit<AccountInit, 'organizationId'>> {
  organizationId?: string;
  joinedTimestamp: Date;
}

/** A long-term access key and the principal it signs as. */
export interface CredentialInit {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
  /** `arn:aws:iam::<acct>:user/<name>` or `arn:aws:iam::<acct>:root` */
  arn: string;
  /** `AIDA...` for users, the account id for root */
  userId: string;
}

export interface InstanceProfileInit {
  /** `arn:aws:iam::<acct>:instance-profile[/path]/<name>` */
  arn: string;
  roleArns: string[];
  instanceProfileId?: string;
}

export interface InstanceProfile {
  arn: string;
  accountId: string;
  name: string;
  path: string;
  roleArns: string[];
  instanceProfileId: string;
}

export interface RoleInit {
  /** `arn:aws:iam::<acct>:role[/path]/<name>` */
  arn: string;
  /**
   * Who may `sts:AssumeRole` it: `*`, an account id or `arn:aws:iam::<acct>:root`
   * (any principal of that account), a user ARN, or a role ARN (its sessions).
   */
  trustedPrincipals: string[];
  /** default 3600 */
  maxSessionDurationSeconds?: number;
  roleId?: string;
}

export interface Role {
  arn: string;
  accountId: string;
  name: string;
  trustedPrincipals: string[];
  maxSessionDurationSeconds: number;
  roleId: string;
}

export interface OrganizationInit {
  /** `o-` + 10 lowercase alphanumerics; generated when absent */
  id?: string;
  managementAccountId: string;
  /**
   * Role ARNs (in the management account) whose sessions may call
   * ListAccounts. Absent: any principal of the management account may.
   */
  listAccountsRoleArns?: string[];
  memberAccountIds: string[];
}

export interface Organization {
  id: string;
  managementAccountId: string;
  listAccountsRoleArns?: string[];
  memberAccountIds: string[];
}

export interface EksClusterInit {
  accountId: string;
  region: string;
  name: string;
  nodeGroups: { name: string; autoScalingGroupNames: string[] }[];
}

export interface AutoScalingGroupInit {
  accountId: string;
  region: string;
  name: string;
  instanceIds: string[];
}

export interface WorldInit {
  /** the server's own identity; default an IAM user in account 111111111111 */
  server?: Partial<CredentialInit>;
  /** more long-term keys (agents' users, other accounts' admins) */
  credentials?: CredentialInit[];
  accounts?: AccountInit[];
  instances?: InstanceInit[];
  instanceProfiles?: InstanceProfileInit[];
  roles?: RoleInit[];
  organizations?: OrganizationInit[];
  eksClusters?: EksClusterInit[];
  autoScalingGroups?: AutoScalingGroupInit[];
  /**
   * Lifetime of credentials issued by AssumeRole (and the IMDS), overriding
   * the requested DurationSeconds: lets tests expire them in seconds.
   */
  sessionDurationSeconds?: number;
  /** default region for `endpointEnv()` and helpers; `us-east-1` */
  defaultRegion?: string;
}

/** Who signed a request. */
export interface Principal {
  accessKeyId: string;
  accountId: string;
  arn: string;
  userId: string;
  type: 'user' | 'root' | 'assumed-role';
  /** for assumed-role sessions: the role's IAM ARN */
  roleArn?: string;
  sessionName?: string;
}

/** Temporary credentials issued by AssumeRole or the IMDS. */
export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  principal: Principal;
}

/** `endless`: a 200 whose body never ends (a broken or hostile endpoint) */
export type DownMode = 'reset' | '503' | 'endless';

interface Throttle {
  service: ServiceName;
  operation?: string;
  remaining: number;
}

/** What a signing key resolves to. */
export type KeyLookup =
  { kind: 'static'; secretAccessKey: string; principal: Principal } | { kind: 'session'; session: Session } | undefined;

const ARN_RE = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(role|instance-profile|user)\/(?:(.*)\/)?([^/]+)$/;

export function parseIamArn(arn: string): {
  partition: string;
  accountId: string;
  kind: string;
  path: string;
  name: string;
} {
  const m = ARN_RE.exec(arn);
  if (!m) throw new Error(`aws-simulator: not an IAM role/instance-profile/user ARN: ${arn}`);
  // ARN_RE's groups are all required but the path's
  return { partition: m[1]!, accountId: m[2]!, kind: m[3]!, path: m[4] ? `/${m[4]}/` : '/', name: m[5]! };
}

function hex(n: number): string {
  return randomBytes(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n);
}

/** AWS-style ids: upper-case alphanumerics after a prefix (AKIA, ASIA, AROA, AIPA, AIDA). */
export function awsId(prefix: string, length = 20): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(length);
  let out = prefix;
  for (let i = out.length; i < length; i++) out += alphabet[bytes[i]! % alphabet.length]; // i < length, bytes' length
  return out;
}

function secret(): string {
  return randomBytes(30).toString('base64').replace(/[+/=]/g, 'x').slice(0, 40);
}

function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export class World {
  readonly defaultRegion: string;
  /** the server's own key and identity (`endpointEnv()` exports it) */
  readonly server: CredentialInit;
  sessionDurationSeconds: number | undefined;

  private clockOffsetMs = 0;
  private ipCounter = 10;
  private readonly keys = new Map<string, CredentialInit>();
  private readonly sessions = new Map<string, Session>();
  private readonly accounts = new Map<string, Account>();
  private readonly instances = new Map<string, Instance>();
  private readonly profiles = new Map<string, InstanceProfile>();
  private readonly roles = new Map<string, Role>();
  private readonly organizations = new Map<string, Organization>();
  private readonly clusters = new Map<string, EksClusterInit>();
  private readonly groups = new Map<string, AutoScalingGroupInit>();
  private readonly down = new Map<ServiceName | '*', DownMode>();
  private readonly latency = new Map<ServiceName | '*', number>();
  private throttles: Throttle[] = [];

  constructor(init: WorldInit = {}) {
    this.defaultRegion = init.defaultRegion ?? 'us-east-1';
    this.sessionDurationSeconds = init.sessionDurationSeconds;
    const serverAccount = init.server?.accountId ?? '111111111111';
    this.server = {
      accessKeyId: init.server?.accessKeyId ?? awsId('AKIA'),
      secretAccessKey: init.server?.secretAccessKey ?? secret(),
      accountId: serverAccount,
      arn: init.server?.arn ?? `arn:aws:iam::${serverAccount}:user/attestd-server`,
      userId: init.server?.userId ?? awsId('AIDA', 21),
    };
    this.addCredentials(this.server);
    for (const c of init.credentials ?? []) this.addCredentials(c);
    for (const a of init.accounts ?? []) this.addAccount(a);
    for (const o of init.organizations ?? []) this.addOrganization(o);
    for (const p of init.instanceProfiles ?? []) this.addInstanceProfile(p);
    for (const r of init.roles ?? []) this.addRole(r);
    for (const i of init.instances ?? []) this.addInstance(i);
    for (const c of init.eksClusters ?? []) this.addEksCluster(c);
    for (const g of init.autoScalingGroups ?? []) this.addAutoScalingGroup(g);
  }

  // --- clock: credential expiry follows it; request-signature freshness uses wall time

  now(): Date {
    return new Date(Date.now() + this.clockOffsetMs);
  }

  /** Moves the simulator's clock (credential expiry) forward. */
  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  // --- credentials

  addCredentials(c: CredentialInit): void {
    if (this.keys.has(c.accessKeyId) || this.sessions.has(c.accessKeyId)) {
      throw new Error(`aws-simulator: duplicate access key ${c.accessKeyId}`);
    }
    this.keys.set(c.accessKeyId, { ...c });
    this.ensureAccount(c.accountId);
  }

  /** Issues temporary credentials for `roleArn` (what AssumeRole and the IMDS hand out). */
  issueSession(roleArn: string, sessionName: string, durationSeconds = 3600): Session {
    const role = this.roles.get(roleArn) ?? this.addRole({ arn: roleArn, trustedPrincipals: [] });
    const { partition } = parseIamArn(roleArn);
    const seconds = this.sessionDurationSeconds ?? durationSeconds;
    const session: Session = {
      accessKeyId: awsId('ASIA'),
      secretAccessKey: secret(),
      sessionToken: `FwoGZXIvYXdzE${randomBytes(96).toString('base64')}`,
      expiration: new Date(Math.floor(this.now().getTime() / 1000) * 1000 + seconds * 1000),
      principal: {
        accessKeyId: '',
        accountId: role.accountId,
        arn: `arn:${partition}:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}`,
        userId: `${role.roleId}:${sessionName}`,
        type: 'assumed-role',
        roleArn,
        sessionName,
      },
    };
    session.principal.accessKeyId = session.accessKeyId;
    this.sessions.set(session.accessKeyId, session);
    return session;
  }

  lookupKey(accessKeyId: string): KeyLookup {
    const key = this.keys.get(accessKeyId);
    if (key) {
      const root = key.arn.endsWith(':root');
      return {
        kind: 'static',
        secretAccessKey: key.secretAccessKey,
        principal: {
          accessKeyId,
          accountId: key.accountId,
          arn: key.arn,
          userId: key.userId,
          type: root ? 'root' : 'user',
        },
      };
    }
    const session = this.sessions.get(accessKeyId);
    return session ? { kind: 'session', session } : undefined;
  }

  // --- accounts and organizations

  addAccount(a: AccountInit): Account {
    const account: Account = {
      id: a.id,
      name: a.name ?? `account-${a.id}`,
      email: a.email ?? `aws+${a.id}@example.com`,
      status: a.status ?? 'ACTIVE',
      organizationId: a.organizationId,
      joinedTimestamp: new Date('2020-01-01T00:00:00Z'),
    };
    this.accounts.set(a.id, account);
    return account;
  }

  private ensureAccount(id: string): Account {
    return this.accounts.get(id) ?? this.addAccount({ id });
  }

  getAccount(id: string): Account | undefined {
    return this.accounts.get(id);
  }

  addOrganization(o: OrganizationInit): Organization {
    const org: Organization = {
      id: o.id ?? `o-${hex(10)}`,
      managementAccountId: o.managementAccountId,
      listAccountsRoleArns: o.listAccountsRoleArns,
      memberAccountIds: [...o.memberAccountIds],
    };
    this.organizations.set(org.id, org);
    for (const id of [org.managementAccountId, ...org.memberAccountIds]) this.ensureAccount(id).organizationId = org.id;
    return org;
  }

  /** The organization an account belongs to (as management account or member). */
  organizationOf(accountId: string): Organization | undefined {
    const viaAccount = this.accounts.get(accountId)?.organizationId;
    if (viaAccount && this.organizations.has(viaAccount)) return this.organizations.get(viaAccount);
    return [...this.organizations.values()].find(
      (o) => o.managementAccountId === accountId || o.memberAccountIds.includes(accountId),
    );
  }

  /** Every account of an organization, the management account first, then by id. */
  organizationAccounts(org: Organization): Account[] {
    const ids = new Set([org.managementAccountId, ...org.memberAccountIds]);
    for (const a of this.accounts.values()) if (a.organizationId === org.id) ids.add(a.id);
    const rest = [...ids].filter((id) => id !== org.managementAccountId).sort();
    return [org.managementAccountId, ...rest].map((id) => this.ensureAccount(id));
  }

  // --- EC2

  addInstance(init: InstanceInit): Instance {
    const instanceId = init.instanceId ?? `i-${hex(17)}`;
    if (this.instances.has(instanceId)) throw new Error(`aws-simulator: duplicate instance ${instanceId}`);
    const launchTime = wholeSeconds(init.launchTime ?? new Date(this.now().getTime() - 3600_000));
    const n = this.ipCounter++;
    const privateIp = init.privateIp ?? `10.0.${Math.floor(n / 250)}.${(n % 250) + 4}`;
    const dnsSuffix = init.region === 'us-east-1' ? 'ec2.internal' : `${init.region}.compute.internal`;
    const instance: Instance = {
      accountId: init.accountId,
      region: init.region,
      instanceId,
      state: init.state ?? 'running',
      imageId: init.imageId ?? 'ami-0abcdef1234567890',
      instanceType: init.instanceType ?? 't3.micro',
      privateIp,
      privateDnsName: init.privateDnsName ?? `ip-${privateIp.replaceAll('.', '-')}.${dnsSuffix}`,
      availabilityZone: init.availabilityZone ?? `${init.region}a`,
      tags: { ...(init.tags ?? {}) },
      securityGroups: [...(init.securityGroups ?? [])],
      iamInstanceProfileArn: init.iamInstanceProfileArn,
      rootDeviceType: init.rootDeviceType ?? 'ebs',
      rootDeviceName: init.rootDeviceName ?? '/dev/xvda',
      rootDeviceAttachTime: init.rootDeviceAttachTime ?? new Date(launchTime.getTime() + 2000),
      networkInterfaceAttachTime: init.networkInterfaceAttachTime ?? launchTime,
      launchTime,
      architecture: init.architecture ?? 'x86_64',
      reservationId: init.reservationId ?? `r-${hex(17)}`,
      subnetId: init.subnetId ?? `subnet-${hex(17)}`,
      vpcId: init.vpcId ?? `vpc-${hex(17)}`,
      volumeId: `vol-${hex(17)}`,
      networkInterfaceId: `eni-${hex(17)}`,
    };
    this.instances.set(instanceId, instance);
    this.ensureAccount(init.accountId);
    return instance;
  }

  /** By id alone (ids are unique in the world); callers check account and region. */
  getInstance(instanceId: string): Instance | undefined {
    return this.instances.get(instanceId);
  }

  listInstances(accountId: string, region: string): Instance[] {
    return [...this.instances.values()].filter((i) => i.accountId === accountId && i.region === region);
  }

  private mustInstance(instanceId: string): Instance {
    const i = this.instances.get(instanceId);
    if (!i) throw new Error(`aws-simulator: no instance ${instanceId}`);
    return i;
  }

  setInstanceState(instanceId: string, state: InstanceState): void {
    this.mustInstance(instanceId).state = state;
  }

  stopInstance(instanceId: string): void {
    this.setInstanceState(instanceId, 'stopped');
  }

  startInstance(instanceId: string): void {
    this.setInstanceState(instanceId, 'running');
  }

  terminateInstance(instanceId: string): void {
    this.setInstanceState(instanceId, 'terminated');
  }

  /** Changes fields (tags, attach times, security groups, ...) in place. */
  updateInstance(instanceId: string, patch: Partial<Omit<Instance, 'instanceId' | 'accountId' | 'region'>>): Instance {
    return Object.assign(this.mustInstance(instanceId), patch);
  }

  removeInstance(instanceId: string): void {
    this.instances.delete(instanceId);
  }

  // --- IAM

  addInstanceProfile(p: InstanceProfileInit): InstanceProfile {
    const { accountId, name, path } = parseIamArn(p.arn);
    const profile: InstanceProfile = {
      arn: p.arn,
      accountId,
      name,
      path,
      roleArns: [...p.roleArns],
      instanceProfileId: p.instanceProfileId ?? awsId('AIPA', 21),
    };
    this.profiles.set(p.arn, profile);
    for (const roleArn of p.roleArns)
      if (!this.roles.has(roleArn)) this.addRole({ arn: roleArn, trustedPrincipals: [] });
    return profile;
  }

  findInstanceProfile(accountId: string, name: string): InstanceProfile | undefined {
    return [...this.profiles.values()].find((p) => p.accountId === accountId && p.name === name);
  }

  addRole(r: RoleInit): Role {
    const { accountId, name } = parseIamArn(r.arn);
    const role: Role = {
      arn: r.arn,
      accountId,
      name,
      trustedPrincipals: [...r.trustedPrincipals],
      maxSessionDurationSeconds: r.maxSessionDurationSeconds ?? 3600,
      roleId: r.roleId ?? awsId('AROA', 21),
    };
    this.roles.set(r.arn, role);
    this.ensureAccount(accountId);
    return role;
  }

  getRole(arn: string): Role | undefined {
    return this.roles.get(arn);
  }

  /** Whether `caller` may assume `role` under its trust list. */
  trusts(role: Role, caller: Principal): boolean {
    return role.trustedPrincipals.some(
      (t) =>
        t === '*' ||
        t === caller.accountId ||
        t === `arn:aws:iam::${caller.accountId}:root` ||
        t === caller.arn ||
        (caller.roleArn !== undefined && t === caller.roleArn),
    );
  }

  // --- EKS and Auto Scaling

  addEksCluster(c: EksClusterInit): void {
    this.clusters.set(`${c.accountId}/${c.region}/${c.name}`, {
      ...c,
      nodeGroups: c.nodeGroups.map((g) => ({ name: g.name, autoScalingGroupNames: [...g.autoScalingGroupNames] })),
    });
  }

  getEksCluster(accountId: string, region: string, name: string): EksClusterInit | undefined {
    return this.clusters.get(`${accountId}/${region}/${name}`);
  }

  addAutoScalingGroup(g: AutoScalingGroupInit): void {
    this.groups.set(`${g.accountId}/${g.region}/${g.name}`, { ...g, instanceIds: [...g.instanceIds] });
  }

  getAutoScalingGroup(accountId: string, region: string, name: string): AutoScalingGroupInit | undefined {
    return this.groups.get(`${accountId}/${region}/${name}`);
  }

  listAutoScalingGroups(accountId: string, region: string): AutoScalingGroupInit[] {
    return [...this.groups.values()].filter((g) => g.accountId === accountId && g.region === region);
  }

  // --- faults

  /** `reset` destroys the connection (the SDK sees a network error); `503` answers ServiceUnavailable; `endless` streams a body that never ends; false clears. */
  setDown(service: ServiceName | '*', mode: DownMode | false): void {
    if (mode === false) this.down.delete(service);
    else this.down.set(service, mode);
  }

  downMode(service: ServiceName | undefined): DownMode | undefined {
    return (service && this.down.get(service)) ?? this.down.get('*');
  }

  /** The next `count` calls of `service` (of `operation`, if given) fail with its throttling error. */
  setThrottle(service: ServiceName, count: number, operation?: string): void {
    this.throttles = this.throttles.filter((t) => !(t.service === service && t.operation === operation));
    if (count > 0) this.throttles.push({ service, operation, remaining: count });
  }

  /** Consumes one throttle for this call, if any applies. */
  takeThrottle(service: ServiceName, operation: string): boolean {
    const t = this.throttles.find(
      (x) => x.service === service && (x.operation === undefined || x.operation === operation) && x.remaining > 0,
    );
    if (!t) return false;
    t.remaining--;
    return true;
  }

  /** Adds `ms` of delay before every answer of `service` (or all, with `*`). */
  setLatency(service: ServiceName | '*', ms: number): void {
    if (ms > 0) this.latency.set(service, ms);
    else this.latency.delete(service);
  }

  latencyMs(service: ServiceName | undefined): number {
    return (service && this.latency.get(service)) || this.latency.get('*') || 0;
  }

  clearFaults(): void {
    this.down.clear();
    this.latency.clear();
    this.throttles = [];
  }
}

export function requestId(): string {
  return randomUUID();
}
