import type { JSONWebKeySet } from 'jose';

/**
 * What `azure_msi` needs from Azure, as ports: the attestor stays free of SDK
 * clients, credentials and caches; `libs/attestors/azure/cloud` implements
 * them (`@azure/identity`, `@azure/arm-compute`, `@azure/arm-network`), tests
 * may fake them. Every method throws DependencyUnavailable (../attestor) when
 * Azure cannot be reached: the login then fails closed with 503.
 */

/** A VM as Azure Resource Manager names it (from the token's `xms_mirid`). */
export interface AzureVmRef {
  tenantId: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** The networks of a VM's network interfaces, read from their resource IDs. */
export interface AzureVmNetwork {
  /** network security groups of the VM's interfaces */
  securityGroups: { resourceGroup: string; name: string }[];
  /** virtual networks of the interfaces' IP configurations */
  virtualNetworks: { resourceGroup: string; name: string }[];
  /** subnets of the interfaces' IP configurations */
  subnets: { resourceGroup: string; virtualNetwork: string; name: string }[];
}

export interface AzureCloud {
  /** The VM's networks, or null when Azure does not know the VM. */
  vmNetwork(vm: AzureVmRef): Promise<AzureVmNetwork | null>;
}

/**
 * A tenant's token-signing keys: `{authorityHost}/{tenant}/v2.0/.well-known/openid-configuration`
 * → `jwks_uri` → the JWKS. Uncached: `azure-msi/signing-keys.ts` caches.
 */
export interface AzureKeySource {
  fetchKeys(tenantId: string): Promise<JSONWebKeySet>;
}
