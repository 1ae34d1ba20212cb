import { ProofRejected, type Attestor, type Verified } from '../attestor';
import type { AzureCloud, AzureVmNetwork } from '../azure/ports';
import { parseIdentityResource, type IdentityResource } from './resource-id';
import type { SigningKeys } from './signing-keys';
import { verifyMsiToken, type MsiClaims } from './token';

export interface AzureMsiProof {
  /** the access token the VM got from Azure IMDS */
  token: string;
}

export interface AzureMsiConfig {
  tenants: { id: string; resourceId?: string }[];
}

export interface AzureMsiPorts {
  cloud: AzureCloud;
  keys: SigningKeys;
  /** `azure.authorityHost`: the v2 issuer is `{authorityHost}/{tenant}/v2.0` */
  authorityHost: string;
}

/** The audience when a tenant names no `resourceId` (policy.md). */
export const DEFAULT_RESOURCE_ID = 'https://management.azure.com/';

const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['tenants'],
  properties: {
    tenants: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id'],
        properties: {
          id: { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' },
          resourceId: { type: 'string', minLength: 1, maxLength: 1024 },
        },
      },
    },
  },
} as const;

/** Access tokens are a few KiB; the agent's body is capped at 64 KiB anyway. */
const PROOF_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: 16384 } },
} as const;

const SINGLE_VALUED = ['tenant.id', 'principal.id', 'subscription.id', 'vm.name', 'vm.resource_group'];

/**
 * `azure_msi` (attestors.md): an Entra access token of a managed identity,
 * as Azure IMDS hands it to the VM; for a VM's identity, its networks.
 */
export function azureMsiAttestor(ports: AzureMsiPorts): Attestor<AzureMsiProof, AzureMsiConfig> {
  return {
    type: 'azure_msi',
    attributes: [...SINGLE_VALUED, 'network.security_group', 'network.virtual_network', 'network.subnet'],
    singleValued: SINGLE_VALUED,
    configSchema: CONFIG_SCHEMA,
    proofSchema: PROOF_SCHEMA,
    defaultSpiffeIdPath: '/agent/azure_msi/{{azure_msi.tenant.id}}/{{azure_msi.principal.id}}',
    bindsChallenge: false,
    async verify(proof, config, context): Promise<Verified> {
      const tenants = config.tenants.map((t) => ({ id: t.id, resourceId: t.resourceId ?? DEFAULT_RESOURCE_ID }));
      const claims = await verifyMsiToken(proof.token, tenants, ports.keys, ports.authorityHost, context.now); // steps 1-2
      const resource = claims.resourceId === undefined ? null : parseIdentityResource(claims.resourceId); // step 3
      if (claims.resourceId !== undefined && !resource) reject('token xms_mirid is not an Azure resource ID');
      const network = resource?.vm ? await vmNetwork(ports.cloud, claims, resource) : undefined; // step 4
      return {
        attributes: attributesOf(claims, resource, network),
        selectors: selectorsOf(resource, network),
        tofuKey: `azure_msi/${claims.tenantId}/${claims.principalId}`, // step 5
      };
    },
  };
}

function reject(reason: string): never {
  throw new ProofRejected(`azure_msi: ${reason}`);
}

async function vmNetwork(cloud: AzureCloud, claims: MsiClaims, resource: IdentityResource): Promise<AzureVmNetwork> {
  const vm = { tenantId: claims.tenantId, subscriptionId: resource.subscriptionId, resourceGroup: resource.resourceGroup, name: resource.vm!.name };
  const network = await cloud.vmNetwork(vm);
  if (!network) reject(`virtual machine ${vm.name} does not exist in resource group ${vm.resourceGroup} of subscription ${vm.subscriptionId}`);
  return network;
}

function attributesOf(claims: MsiClaims, resource: IdentityResource | null, network: AzureVmNetwork | undefined): Record<string, string[]> {
  const attributes: Record<string, string[]> = { 'tenant.id': [claims.tenantId], 'principal.id': [claims.principalId] };
  if (resource) attributes['subscription.id'] = [resource.subscriptionId];
  if (resource?.vm) {
    attributes['vm.name'] = [resource.vm.name];
    attributes['vm.resource_group'] = [resource.resourceGroup];
  }
  if (network) {
    attributes['network.security_group'] = network.securityGroups.map((g) => `${g.resourceGroup}:${g.name}`);
    attributes['network.virtual_network'] = network.virtualNetworks.map((v) => `${v.resourceGroup}:${v.name}`);
    attributes['network.subnet'] = network.subnets.map((s) => `${s.resourceGroup}:${s.virtualNetwork}:${s.name}`);
  }
  return attributes;
}

/** SPIRE's azure_msi selectors, so workload registrations carry over. */
function selectorsOf(resource: IdentityResource | null, network: AzureVmNetwork | undefined): string[] {
  if (!resource) return [];
  return [
    `subscription-id:${resource.subscriptionId}`,
    ...(resource.vm ? [`vm-name:${resource.resourceGroup}:${resource.vm.name}`] : []),
    ...(network?.securityGroups.map((g) => `network-security-group:${g.resourceGroup}:${g.name}`) ?? []),
    ...(network?.virtualNetworks.map((v) => `virtual-network:${v.resourceGroup}:${v.name}`) ?? []),
    ...(network?.subnets.map((s) => `virtual-network-subnet:${s.resourceGroup}:${s.virtualNetwork}:${s.name}`) ?? []),
  ];
}
