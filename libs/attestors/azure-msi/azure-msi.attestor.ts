import type { JSONSchemaType } from 'ajv';
import { optionalProperty, ProofRejected, type Attestor, type Verified } from '../attestor';
import type { AzureCloud, AzureVmNetwork } from '../azure/ports';
import { managedIdentityOf, type ManagedIdentity } from './managed-identity';
import type { ArmResource } from './resource-id';
import type { SigningKeys } from './signing-keys';
import { verifyMsiToken } from './token';

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

const CONFIG_SCHEMA: JSONSchemaType<AzureMsiConfig> = {
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
          id: {
            type: 'string',
            pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
          },
          resourceId: optionalProperty({ type: 'string', minLength: 1, maxLength: 1024 }),
        },
      },
    },
  },
};

/** Access tokens are a few KiB; the agent's body is capped at 64 KiB anyway. */
const PROOF_SCHEMA: JSONSchemaType<AzureMsiProof> = {
  type: 'object',
  additionalProperties: false,
  required: ['token'],
  properties: { token: { type: 'string', minLength: 1, maxLength: 16384 } },
};

const SINGLE_VALUED = [
  'tenant.id',
  'principal.id',
  'identity.type',
  'identity.name',
  'identity.resource_group',
  'subscription.id',
  'vm.name',
  'vm.resource_group',
];

/**
 * `azure_msi` (attestors.md): an Entra access token of a virtual machine's
 * managed identity, as Azure IMDS hands it to the VM, and the VM's networks.
 */
export function azureMsiAttestor(ports: AzureMsiPorts): Attestor<AzureMsiProof, AzureMsiConfig> {
  return {
    type: 'azure_msi',
    attributes: [...SINGLE_VALUED, 'network.security_group', 'network.virtual_network', 'network.subnet'],
    singleValued: SINGLE_VALUED,
    // the TOFU key: one active agent per managed identity
    nodeUnique: ['principal.id'],
    // whoever creates VMs and identities names them, alike in two resource groups
    callerChosen: ['vm.name', 'vm.resource_group', 'identity.name', 'identity.resource_group'],
    configSchema: CONFIG_SCHEMA,
    proofSchema: PROOF_SCHEMA,
    defaultSpiffeIdPath: '/agent/azure_msi/{{azure_msi.tenant.id}}/{{azure_msi.principal.id}}',
    bindsChallenge: false,
    async verify(proof, config, context): Promise<Verified> {
      const tenants = config.tenants.map((t) => ({ id: t.id, resourceId: t.resourceId ?? DEFAULT_RESOURCE_ID }));
      const claims = await verifyMsiToken(proof.token, tenants, ports.keys, ports.authorityHost, context.now); // steps 1-4
      const identity = managedIdentityOf(claims); // step 5
      const network = await vmNetwork(ports.cloud, claims.tenantId, identity.vm); // step 6
      return {
        attributes: attributesOf(claims.tenantId, claims.principalId, identity, network),
        selectors: selectorsOf(identity.vm, network),
        tofuKey: `azure_msi/${claims.tenantId}/${claims.principalId}`, // step 7
      };
    },
  };
}

function reject(reason: string): never {
  throw new ProofRejected(`azure_msi: ${reason}`);
}

async function vmNetwork(cloud: AzureCloud, tenantId: string, vm: ArmResource): Promise<AzureVmNetwork> {
  const network = await cloud.vmNetwork({
    tenantId,
    subscriptionId: vm.subscriptionId,
    resourceGroup: vm.resourceGroup,
    name: vm.name,
  });
  if (!network)
    reject(
      `virtual machine ${vm.name} does not exist in resource group ${vm.resourceGroup} of subscription ${vm.subscriptionId}`,
    );
  return network;
}

function attributesOf(
  tenantId: string,
  principalId: string,
  identity: ManagedIdentity,
  network: AzureVmNetwork,
): Record<string, string[]> {
  const { vm } = identity;
  return {
    'tenant.id': [tenantId],
    'principal.id': [principalId],
    'identity.type': [identity.type],
    ...(identity.type === 'user_assigned' && {
      'identity.name': [identity.identity.name],
      'identity.resource_group': [identity.identity.resourceGroup],
    }),
    'subscription.id': [vm.subscriptionId],
    'vm.name': [vm.name],
    'vm.resource_group': [vm.resourceGroup],
    'network.security_group': network.securityGroups.map((g) => `${g.resourceGroup}:${g.name}`),
    'network.virtual_network': network.virtualNetworks.map((v) => `${v.resourceGroup}:${v.name}`),
    'network.subnet': network.subnets.map((s) => `${s.resourceGroup}:${s.virtualNetwork}:${s.name}`),
  };
}

/** SPIRE's azure_msi selectors, so workload registrations carry over. */
function selectorsOf(vm: ArmResource, network: AzureVmNetwork): string[] {
  return [
    `subscription-id:${vm.subscriptionId}`,
    `vm-name:${vm.resourceGroup}:${vm.name}`,
    ...network.securityGroups.map((g) => `network-security-group:${g.resourceGroup}:${g.name}`),
    ...network.virtualNetworks.map((v) => `virtual-network:${v.resourceGroup}:${v.name}`),
    ...network.subnets.map((s) => `virtual-network-subnet:${s.resourceGroup}:${s.virtualNetwork}:${s.name}`),
  ];
}
