import type { ListAccountsCommandOutput } from '@aws-sdk/client-organizations';
import { DependencyUnavailable } from '../../attestor';
import type { AwsAccountConfig, AwsAccountGate } from '../ports';
import { CoalescingCache } from './cache';
import type { AwsClients } from './clients';
import type { AssumedRoles } from './credentials';
import { awsCall } from './errors';
import { CACHE_NAMES, type CloudStats } from './stats';

/** A runaway NextToken loop must not hold a login forever: 1,000 pages of 20 is far beyond AWS's account quotas. */
const MAX_PAGES = 1000;

/**
 * Step 3 of `aws_iid`, step 4 of `aws_iam`: an account may attest when it is
 * listed in `awsAccountsAllowed` (no AWS call), is the server's own account
 * (`sts:GetCallerIdentity`, cached), or belongs to an organization listed
 * through one of `assumeOrgRoleArns` (AssumeRole, then every page of
 * `organizations:ListAccounts`; the whole list cached per role for the TTL).
 *
 * A source that cannot be asked does not decide alone: if another source
 * allows the account, it is allowed; only when none does and one failed is
 * the answer DependencyUnavailable (503) rather than "not allowed", because
 * the failed source might have allowed it.
 */
export class AccountGate implements AwsAccountGate {
  private readonly own: CoalescingCache<'self', string>;
  private readonly organizations: CoalescingCache<string, ReadonlySet<string>>;

  constructor(
    private readonly clients: AwsClients,
    private readonly roles: AssumedRoles,
    private readonly stats: CloudStats,
    private readonly homeRegion: string,
    cache: { ttlMs: number; maxEntries: number },
  ) {
    this.own = new CoalescingCache({ name: CACHE_NAMES.ownAccount, max: 1, ttlMs: cache.ttlMs, stats });
    this.organizations = new CoalescingCache({
      name: CACHE_NAMES.organizationAccounts,
      max: Math.min(cache.maxEntries, 1000),
      ttlMs: cache.ttlMs,
      stats,
    });
  }

  async isAccountAllowed(accountId: string, config: AwsAccountConfig): Promise<boolean> {
    if (config.awsAccountsAllowed?.includes(accountId)) return true;
    let failure: unknown;
    const sources: (() => Promise<boolean>)[] = [
      async () => (await this.ownAccount()) === accountId,
      ...(config.assumeOrgRoleArns ?? []).map(
        (roleArn) => async () => (await this.organizationAccounts(roleArn)).has(accountId),
      ),
    ];
    for (const allows of sources) {
      try {
        if (await allows()) return true;
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    return false;
  }

  /** The account of the server's own credentials. */
  ownAccount(): Promise<string> {
    return this.own.get('self', async () => {
      const { client: sts, sdk } = await this.clients.get('sts', this.homeRegion, undefined);
      const answer = await awsCall(
        this.stats,
        { service: 'sts', operation: 'GetCallerIdentity', region: this.homeRegion, target: 'server identity' },
        () => sts.send(new sdk.GetCallerIdentityCommand({})),
      );
      if (!answer.Account)
        throw new DependencyUnavailable(`aws: sts:GetCallerIdentity answered without an account in ${this.homeRegion}`);
      return answer.Account;
    });
  }

  private organizationAccounts(roleArn: string): Promise<ReadonlySet<string>> {
    return this.organizations.get(roleArn, async () => {
      const { client, sdk } = await this.clients.get('organizations', this.homeRegion, this.roles.identity(roleArn));
      const site = {
        service: 'organizations',
        operation: 'ListAccounts',
        region: this.homeRegion,
        target: `role ${roleArn}`,
      };
      const accounts = new Set<string>();
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer: ListAccountsCommandOutput = await awsCall(this.stats, site, () =>
          client.send(new sdk.ListAccountsCommand({ ...(token && { NextToken: token }) })),
        );
        for (const account of answer.Accounts ?? []) if (account.Id) accounts.add(account.Id);
        token = answer.NextToken;
        if (!token) return accounts;
      }
      throw new DependencyUnavailable(
        `aws: organizations:ListAccounts did not end after ${MAX_PAGES} pages (role ${roleArn})`,
      );
    });
  }
}
