import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';

/** How long one login may wait on AWS: attempts × (connect + request timeout) plus the SDK's backoff. */
export interface SdkLimits {
  /** SDK attempts per call, retries included (standard mode: throttling, 5xx, network errors) */
  maxAttempts: number;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
}

export const DEFAULT_SDK_LIMITS: SdkLimits = { maxAttempts: 3, connectionTimeoutMs: 2_000, requestTimeoutMs: 3_000 };

/**
 * Each service's SDK package and its client class, loaded on the first
 * call: together they hold some 19 MiB of heap (EC2's alone 15 MiB), which
 * a server whose policies never ask AWS should neither carry nor mark at
 * every major collection.
 */
const PACKAGES = {
  ec2: () => import('@aws-sdk/client-ec2').then((sdk) => ({ sdk, Client: sdk.EC2Client })),
  iam: () => import('@aws-sdk/client-iam').then((sdk) => ({ sdk, Client: sdk.IAMClient })),
  sts: () => import('@aws-sdk/client-sts').then((sdk) => ({ sdk, Client: sdk.STSClient })),
  organizations: () =>
    import('@aws-sdk/client-organizations').then((sdk) => ({ sdk, Client: sdk.OrganizationsClient })),
  eks: () => import('@aws-sdk/client-eks').then((sdk) => ({ sdk, Client: sdk.EKSClient })),
  autoscaling: () => import('@aws-sdk/client-auto-scaling').then((sdk) => ({ sdk, Client: sdk.AutoScalingClient })),
} as const;

export type Service = keyof typeof PACKAGES;
type Loaded<S extends Service> = Awaited<ReturnType<(typeof PACKAGES)[S]>>;
/** A service's SDK package: its client and command classes. */
export type PackageOf<S extends Service> = Loaded<S>['sdk'];
export type ClientOf<S extends Service> = InstanceType<Loaded<S>['Client']>;

/**
 * Whose credentials a client signs with: `undefined` is the server's own
 * identity (the SDK default credential chain); otherwise a role, whose
 * provider answers from the assumed-role cache.
 */
export type Identity = { key: string; provider: AwsCredentialIdentityProvider } | undefined;

/**
 * One SDK client per (service, region, identity), created on first use and
 * reused: a client holds its connection pool, its resolved endpoint and its
 * retry token bucket, all of which are wasted if made per login. Endpoints
 * come from the SDK's own configuration (`AWS_ENDPOINT_URL_<SERVICE>`,
 * `AWS_REGION`, profiles); nothing here overrides them. The map is bounded by
 * services × regions × allowed accounts.
 */
export class AwsClients {
  private readonly clients = new Map<string, { client: unknown; sdk: unknown }>();

  constructor(private readonly limits: SdkLimits = DEFAULT_SDK_LIMITS) {}

  /** The client, and its package for the commands to send. */
  async get<S extends Service>(
    service: S,
    region: string,
    identity: Identity,
  ): Promise<{ client: ClientOf<S>; sdk: PackageOf<S> }> {
    const key = `${service}|${region}|${identity?.key ?? 'self'}`;
    type Made = { client: ClientOf<S>; sdk: PackageOf<S> };
    const known = this.clients.get(key) as Made | undefined;
    if (known) return known;
    const { sdk, Client } = (await PACKAGES[service]()) as Loaded<S>;
    // another call may have made it while the package loaded
    const madeMeanwhile = this.clients.get(key) as Made | undefined;
    if (madeMeanwhile) return madeMeanwhile;
    const ServiceClient = Client as new (config: object) => ClientOf<S>;
    const client = new ServiceClient({
      region,
      maxAttempts: this.limits.maxAttempts,
      // Without `throwOnRequestTimeout`, this SDK only logs a warning when `requestTimeout` passes
      // and keeps waiting: a hung endpoint would hold logins for as long as the socket lives.
      requestHandler: {
        connectionTimeout: this.limits.connectionTimeoutMs,
        requestTimeout: this.limits.requestTimeoutMs,
        throwOnRequestTimeout: true,
      },
      ...(identity && { credentials: identity.provider }),
    });
    const made: Made = { client, sdk };
    this.clients.set(key, made);
    return made;
  }

  /** Closes every client's connections (server shutdown, tests). */
  destroy(): void {
    for (const { client } of this.clients.values()) (client as { destroy(): void }).destroy();
    this.clients.clear();
  }
}

export type { AwsCredentialIdentity };
