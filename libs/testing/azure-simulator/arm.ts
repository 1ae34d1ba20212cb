import type { JsonAnswer } from './http';
import type { AzureWorld, NetworkInterfaceInit, Vm } from './world';

// Azure Resource Manager, the two reads the attestor makes through
// @azure/arm-compute and @azure/arm-network, in ARM's JSON shapes
// (`properties` nested; the SDKs flatten them). `api-version` is required,
// as ARM requires it; the bearer token is checked by the server first.

const BASE = '^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/';
const VM = new RegExp(`${BASE}Microsoft\\.Compute/virtualMachines/([^/]+)$`, 'i');
const NIC = new RegExp(`${BASE}Microsoft\\.Network/networkInterfaces/([^/]+)$`, 'i');

export function armOperation(method: string, path: string): string | undefined {
  if (method !== 'GET') return undefined;
  if (VM.test(path)) return 'virtualMachines.get';
  if (NIC.test(path)) return 'networkInterfaces.get';
  return undefined;
}

export function armAnswer(world: AzureWorld, operation: string, path: string, query: URLSearchParams): JsonAnswer {
  if (!query.get('api-version'))
    return armError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  const [, subscriptionId, resourceGroup, name] = (operation === 'virtualMachines.get' ? VM : NIC)
    .exec(path)!
    .map(decodeURIComponent) as [string, string, string, string];
  if (operation === 'virtualMachines.get') {
    const vm = world.vm(subscriptionId, resourceGroup, name);
    return vm
      ? { status: 200, body: vmBody(world, vm) }
      : notFound('Microsoft.Compute/virtualMachines', name, resourceGroup);
  }
  const nic = world.networkInterface(subscriptionId, resourceGroup, name);
  return nic
    ? { status: 200, body: nicBody(nic) }
    : notFound('Microsoft.Network/networkInterfaces', name, resourceGroup);
}

export function armError(status: number, code: string, message: string): JsonAnswer {
  return { status, body: { error: { code, message } } };
}

function notFound(type: string, name: string, resourceGroup: string): JsonAnswer {
  return armError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found.`,
  );
}

const group = (subscriptionId: string, resourceGroup: string) =>
  `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;

function vmBody(world: AzureWorld, vm: Vm): unknown {
  const userAssigned = vm.userAssignedIdentities.flatMap((id) => {
    const identity = world.userAssignedIdentity(id);
    if (!identity) return [];
    const armId = `${group(identity.subscriptionId, identity.resourceGroup)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identity.name}`;
    return [[armId, { principalId: identity.principalId, clientId: identity.clientId }] as const];
  });
  const type = [vm.systemAssigned && 'SystemAssigned', userAssigned.length > 0 && 'UserAssigned']
    .filter(Boolean)
    .join(', ');
  return {
    id: `${group(vm.subscriptionId, vm.resourceGroup)}/providers/Microsoft.Compute/virtualMachines/${vm.name}`,
    name: vm.name,
    type: 'Microsoft.Compute/virtualMachines',
    location: 'westeurope',
    ...(type && {
      identity: {
        type,
        ...(vm.systemAssigned && { principalId: vm.principalId, tenantId: vm.tenantId }),
        ...(userAssigned.length > 0 && { userAssignedIdentities: Object.fromEntries(userAssigned) }),
      },
    }),
    properties: {
      provisioningState: 'Succeeded',
      vmId: vm.vmId,
      hardwareProfile: { vmSize: 'Standard_B2s' },
      networkProfile: {
        networkInterfaces: vm.networkInterfaces.map((nic, i) => ({
          id: `${group(vm.subscriptionId, vm.resourceGroup)}/providers/Microsoft.Network/networkInterfaces/${nic}`,
          properties: { primary: i === 0 },
        })),
      },
    },
  };
}

function nicBody(nic: NetworkInterfaceInit): unknown {
  const id = `${group(nic.subscriptionId, nic.resourceGroup)}/providers/Microsoft.Network/networkInterfaces/${nic.name}`;
  const nsg = nic.securityGroup;
  return {
    id,
    name: nic.name,
    type: 'Microsoft.Network/networkInterfaces',
    location: 'westeurope',
    properties: {
      provisioningState: 'Succeeded',
      ...(nsg && {
        networkSecurityGroup: {
          id: `${group(nic.subscriptionId, nsg.resourceGroup ?? nic.resourceGroup)}/providers/Microsoft.Network/networkSecurityGroups/${nsg.name}`,
        },
      }),
      ipConfigurations: nic.subnets.map((subnet, i) => ({
        id: `${id}/ipConfigurations/ipconfig${i + 1}`,
        name: `ipconfig${i + 1}`,
        properties: {
          provisioningState: 'Succeeded',
          privateIPAddress: `10.0.${i}.4`,
          privateIPAllocationMethod: 'Dynamic',
          primary: i === 0,
          subnet: {
            id: `${group(nic.subscriptionId, subnet.resourceGroup ?? nic.resourceGroup)}/providers/Microsoft.Network/virtualNetworks/${subnet.virtualNetwork}/subnets/${subnet.name}`,
          },
        },
      })),
    },
  };
}
