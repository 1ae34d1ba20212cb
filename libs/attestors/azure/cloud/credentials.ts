import type { TokenCredential } from '@azure/core-auth';

/** `azure.tenants[]`: a service principal the server signs in as in that tenant. */
export interface TenantClientSecret {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** Few, short retries: a login waits on them, and an outage must fail closed in seconds. */
const SIGN_IN_RETRIES = { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 1_000 };

/**
 * The credential for ARM calls in a tenant: its own client secret when the
 * settings give one, else `DefaultAzureCredential` (environment, workload
 * identity, the server's own managed identity, ...), made once on first use,
 * when `@azure/identity` is loaded too. Instance discovery is off so
 * sovereign and private authority hosts work.
 */
export class TenantCredentials {
  private readonly byTenant = new Map<string, TokenCredential>();
  private fallback: TokenCredential | undefined;

  constructor(
    private readonly authorityHost: string,
    private readonly secrets: readonly TenantClientSecret[],
  ) {}

  async for(tenantId: string): Promise<TokenCredential> {
    const cached = this.byTenant.get(tenantId);
    if (cached) return cached;
    const { ClientSecretCredential, DefaultAzureCredential } = await import('@azure/identity');
    const secret = this.secrets.find((s) => s.tenantId.toLowerCase() === tenantId.toLowerCase());
    if (!secret)
      return (this.fallback ??= new DefaultAzureCredential({
        authorityHost: this.authorityHost,
        retryOptions: SIGN_IN_RETRIES,
      }));
    const credential = new ClientSecretCredential(secret.tenantId, secret.clientId, secret.clientSecret, {
      authorityHost: this.authorityHost,
      disableInstanceDiscovery: true,
      retryOptions: SIGN_IN_RETRIES,
    });
    this.byTenant.set(tenantId, credential);
    return credential;
  }
}
