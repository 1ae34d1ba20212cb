import type { TokenCredential } from '@azure/core-auth';
import { CoalescingCache } from '../../aws/cloud/cache';
import { NO_STATS, type CloudStats } from '../../aws/cloud/stats';
import type { AzureCloud, AzureVmNetwork, AzureVmRef } from '../ports';
import { TenantCredentials, type TenantClientSecret } from './credentials';
import { AZURE_SERVICES, azureCall } from './errors';
import { parseNicId, parseNsgId, parseSubnetId, type NicId } from './arm-ids';

export interface AzureCloudOptions {
  /** `azure.resourceManagerEndpoint`, e.g. `https://management.azure.com` */
  resourceManagerEndpoint: string;
  /** `azure.authorityHost`, e.g. `https://login.microsoftonline.com` */
  authorityHost: string;
  /** `azure.tenants`: per-tenant client secrets; other tenants use DefaultAzureCredential */
  tenants: readonly TenantClientSecret[];
  /** `cloudCacheTtl`, in seconds */
  cacheTtlSeconds: number;
  maxEntries?: number;
  stats?: CloudStats;
  /** per ARM request; default 5 s */
  timeoutMs?: number;
}

/** The `cache` labels of `attestd.cache.lookups`. */
export const AZURE_CACHE_NAMES = { vms: 'azure_vm_networks', nics: 'azure_network_interfaces' } as const;
/** Unknown VMs are asked again this soon: one that was just created must not be refused for a whole TTL. */
export const UNKNOWN_VM_TTL_MS = 15_000;

interface Nic {
  nsgIds: string[];
  subnetIds: string[];
}

/**
 * The AzureCloud port on `@azure/arm-compute` and `@azure/arm-network`:
 * VM → its network interfaces → their security group and subnets (the
 * virtual network is the subnet's parent), every look-up cached and
 * coalesced. SDK retries are few and short, so an outage fails a login in
 * seconds, with DependencyUnavailable (503).
 */
export function createAzureCloud(options: AzureCloudOptions): AzureCloud {
  const stats = options.stats ?? NO_STATS;
  const credentials = new TenantCredentials(options.authorityHost, options.tenants);
  const endpoint = options.resourceManagerEndpoint.replace(/\/+$/, '');
  const clientOptions = {
    endpoint,
    credentials: { scopes: [`${endpoint}/.default`] },
    retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 1_000 },
  };
  // The ARM packages (with @azure/identity, some 24 MiB of heap) load on the first
  // Azure look-up: a server whose policies never ask Azure neither carries them
  // nor marks them at every major collection.
  const compute = perSubscription(credentials, async (credential, subscriptionId) => {
    const { ComputeManagementClient } = await import('@azure/arm-compute');
    return new ComputeManagementClient(credential, subscriptionId, clientOptions);
  });
  const network = perSubscription(credentials, async (credential, subscriptionId) => {
    const { NetworkManagementClient } = await import('@azure/arm-network');
    return new NetworkManagementClient(credential, subscriptionId, clientOptions);
  });
  const ttlMs = options.cacheTtlSeconds * 1000;
  const max = options.maxEntries ?? 10_000;
  const vms = new CoalescingCache<string, AzureVmNetwork | null>({
    name: AZURE_CACHE_NAMES.vms,
    max,
    ttlMs,
    stats,
    ttlOf: (v) => (v ? ttlMs : Math.min(ttlMs, UNKNOWN_VM_TTL_MS)),
  });
  const nics = new CoalescingCache<string, Nic | null>({ name: AZURE_CACHE_NAMES.nics, max, ttlMs, stats });
  const timeout = () => ({ abortSignal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });

  const loadNic = (tenantId: string, id: NicId) =>
    nics.get(`${tenantId}/${id.subscriptionId}/${id.resourceGroup}/${id.name}`.toLowerCase(), async () => {
      const nic = await azureCall(stats, AZURE_SERVICES.arm, 'networkInterfaces.get', async () =>
        (await network(tenantId, id.subscriptionId)).networkInterfaces.get(id.resourceGroup, id.name, timeout()),
      );
      if (!nic) return null;
      return {
        nsgIds: nic.networkSecurityGroup?.id ? [nic.networkSecurityGroup.id] : [],
        subnetIds: (nic.ipConfigurations ?? []).flatMap((c) => (c.subnet?.id ? [c.subnet.id] : [])),
      };
    });

  const loadVm = async (vm: AzureVmRef): Promise<AzureVmNetwork | null> => {
    const found = await azureCall(stats, AZURE_SERVICES.arm, 'virtualMachines.get', async () =>
      (await compute(vm.tenantId, vm.subscriptionId)).virtualMachines.get(vm.resourceGroup, vm.name, timeout()),
    );
    if (!found) return null;
    const nicIds = (found.networkProfile?.networkInterfaces ?? []).flatMap((n) => {
      const id = parseNicId(n.id);
      return id ? [id] : [];
    });
    const loaded = await Promise.all(nicIds.map((id) => loadNic(vm.tenantId, id)));
    return networkOf(loaded.filter((nic): nic is Nic => nic !== null));
  };

  return {
    vmNetwork: (vm) =>
      vms.get(`${vm.tenantId}/${vm.subscriptionId}/${vm.resourceGroup}/${vm.name}`.toLowerCase(), () => loadVm(vm)),
  };
}

/**
 * One client per tenant and subscription, made on first use. Two first
 * calls at once may each make one; the first kept is used from then on.
 */
function perSubscription<C>(
  credentials: TenantCredentials,
  make: (credential: TokenCredential, subscriptionId: string) => Promise<C>,
): (tenantId: string, subscriptionId: string) => Promise<C> {
  const made = new Map<string, C>();
  return async (tenantId, subscriptionId) => {
    const key = `${tenantId}/${subscriptionId}`;
    const known = made.get(key);
    if (known !== undefined) return known;
    const client = await make(await credentials.for(tenantId), subscriptionId);
    if (!made.has(key)) made.set(key, client);
    return made.get(key)!;
  };
}

/** Distinct groups, networks and subnets over all interfaces, in interface order. */
function networkOf(nics: Nic[]): AzureVmNetwork {
  const distinct = <T>(items: (T | null)[], key: (t: T) => string): T[] => {
    const seen = new Map<string, T>();
    for (const item of items) if (item && !seen.has(key(item).toLowerCase())) seen.set(key(item).toLowerCase(), item);
    return [...seen.values()];
  };
  const subnets = distinct(
    nics.flatMap((n) => n.subnetIds.map(parseSubnetId)),
    (s) => `${s.resourceGroup}/${s.virtualNetwork}/${s.name}`,
  );
  return {
    securityGroups: distinct(
      nics.flatMap((n) => n.nsgIds.map(parseNsgId)),
      (g) => `${g.resourceGroup}/${g.name}`,
    ),
    virtualNetworks: distinct(
      subnets.map((s) => ({ resourceGroup: s.resourceGroup, name: s.virtualNetwork })),
      (v) => `${v.resourceGroup}/${v.name}`,
    ),
    subnets,
  };
}
