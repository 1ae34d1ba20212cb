import { DependencyUnavailable } from '../../attestor';
import { CoalescingCache } from './cache';
import type { AwsClients, AwsCredentialIdentity, Identity } from './clients';
import { awsCall } from './errors';
import { CACHE_NAMES, type CloudStats } from './stats';

/** Assumed-role credentials are not used in their last 5 minutes (clock skew, calls in flight, SDK retries). */
export const EXPIRY_MARGIN_MS = 5 * 60_000;
/** ...and are replaced in the background during the 5 minutes before that. */
export const REFRESH_AHEAD_MS = 5 * 60_000;
/** One hour: the default maximum session of a role, so every role accepts it. */
const SESSION_SECONDS = 3600;
export const SESSION_NAME = 'attestd';

export function roleArnOf(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}

/**
 * Credentials for acting in another account (`aws.assumeRoleName` in the
 * agent's account, `assumeOrgRoleArns` for organizations): sts:AssumeRole
 * with the server's own identity, cached per role.
 *
 * Timeline of one 1-hour session: used from issue; from 50 minutes a use
 * starts one background AssumeRole (coalesced) while the current credentials
 * keep answering; from 55 minutes they are never handed out again, and a
 * caller waits for new ones. So logins wait on STS only on first use of an
 * account, or when the background refresh kept failing.
 *
 * The SDK memoizes a credential provider until 5 minutes before the
 * `expiration` it returns. We return our own cut-off (expiry − 5 min) as
 * `expiration`, so the SDK comes back to us from expiry − 10 min, the start
 * of the refresh-ahead window; if the SDK's margin ever changes, the cache's
 * hard TTL still keeps stale credentials out.
 */
export class AssumedRoles {
  private readonly cache: CoalescingCache<string, AwsCredentialIdentity>;

  constructor(
    private readonly clients: AwsClients,
    private readonly stats: CloudStats,
    private readonly homeRegion: string,
    maxEntries: number,
    now: () => number = Date.now,
  ) {
    this.cache = new CoalescingCache({
      name: CACHE_NAMES.assumedRoles,
      max: maxEntries,
      ttlMs: SESSION_SECONDS * 1000,
      ttlOf: (c) => (c.expiration ? c.expiration.getTime() - now() : 0),
      refreshAheadOf: (c) => (c.expiration ? c.expiration.getTime() - REFRESH_AHEAD_MS - now() : Infinity),
      stats,
      now,
    });
  }

  /** An SDK identity acting as `roleArn`, for the client factory. */
  identity(roleArn: string): Identity {
    return { key: roleArn, provider: () => this.credentials(roleArn) };
  }

  /**
   * Credentials for `roleArn`, with `expiration` set to when they stop being
   * used. Throws DependencyUnavailable naming the role when STS refuses
   * (AccessDenied: the role does not trust the server) or is unreachable.
   */
  credentials(roleArn: string): Promise<AwsCredentialIdentity> {
    return this.cache.get(roleArn, () => this.assume(roleArn));
  }

  private async assume(roleArn: string): Promise<AwsCredentialIdentity> {
    const { client: sts, sdk } = await this.clients.get('sts', this.homeRegion, undefined);
    const answer = await awsCall(
      this.stats,
      { service: 'sts', operation: 'AssumeRole', region: this.homeRegion, target: `role ${roleArn}` },
      () =>
        sts.send(
          new sdk.AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: SESSION_NAME,
            DurationSeconds: SESSION_SECONDS,
          }),
        ),
    );
    const c = answer.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new DependencyUnavailable(
        `aws: sts:AssumeRole answered without credentials in ${this.homeRegion} (role ${roleArn})`,
      );
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: new Date(c.Expiration.getTime() - EXPIRY_MARGIN_MS),
    };
  }
}
