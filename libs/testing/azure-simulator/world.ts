import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';

// The simulated Azure: tenants with their signing keys, service principals
// the server signs in as, and the VMs, network interfaces and networks ARM
// knows. Tests change it while the simulator runs.

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface TenantInit {
  id: string;
}

export interface ServicePrincipalInit {
  tenantId: string;
  clientId?: string;
  clientSecret?: string;
}

export interface NetworkInterfaceInit {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** the NIC's network security group (`rg` defaults to the NIC's) */
  securityGroup?: { resourceGroup?: string; name: string };
  /** one IP configuration per subnet */
  subnets: { resourceGroup?: string; virtualNetwork: string; name: string }[];
}

export interface VmInit {
  tenantId: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** the system-assigned identity's object ID; default a new UUID */
  principalId?: string;
  /** network interfaces by name, in the VM's resource group and subscription */
  networkInterfaces?: string[];
}

export type Vm = Required<VmInit>;
export type ServicePrincipal = Required<ServicePrincipalInit>;
export type AzureService = 'entra' | 'arm';

export interface WorldInit {
  tenants?: TenantInit[];
  servicePrincipals?: ServicePrincipalInit[];
  vms?: VmInit[];
  networkInterfaces?: NetworkInterfaceInit[];
}

export class AzureWorld {
  private readonly keys = new Map<string, SigningKey[]>();
  private readonly principals: ServicePrincipal[] = [];
  private readonly vmList: Vm[] = [];
  private readonly nics = new Map<string, NetworkInterfaceInit>();
  private readonly down = new Set<AzureService | '*'>();
  private readonly endless = new Set<AzureService>();
  private throttles = new Map<AzureService, number>();

  constructor(init: WorldInit = {}) {
    for (const tenant of init.tenants ?? []) this.addTenant(tenant.id);
    for (const sp of init.servicePrincipals ?? []) this.addServicePrincipal(sp);
    for (const nic of init.networkInterfaces ?? []) this.addNetworkInterface(nic);
    for (const vm of init.vms ?? []) this.addVm(vm);
  }

  // --- tenants and keys

  addTenant(tenantId: string): void {
    if (!this.keys.has(tenantId.toLowerCase())) this.keys.set(tenantId.toLowerCase(), [newSigningKey()]);
  }

  hasTenant(tenantId: string): boolean {
    return this.keys.has(tenantId.toLowerCase());
  }

  /** The tenant's published keys; the first signs. */
  signingKeys(tenantId: string): SigningKey[] {
    return this.keys.get(tenantId.toLowerCase()) ?? [];
  }

  /** A new key signs from now on; the old one stays published, as Entra rolls keys. */
  rollKeys(tenantId: string): SigningKey {
    const key = newSigningKey();
    this.keys.set(tenantId.toLowerCase(), [key, ...this.signingKeys(tenantId)]);
    return key;
  }

  // --- service principals (client credentials)

  addServicePrincipal(init: ServicePrincipalInit): ServicePrincipal {
    this.addTenant(init.tenantId);
    const sp = { tenantId: init.tenantId, clientId: init.clientId ?? randomUUID(), clientSecret: init.clientSecret ?? randomBytes(24).toString('base64url') };
    this.principals.push(sp);
    return sp;
  }

  servicePrincipal(tenantId: string, clientId: string): ServicePrincipal | undefined {
    return this.principals.find((p) => p.tenantId.toLowerCase() === tenantId.toLowerCase() && p.clientId === clientId);
  }

  // --- resources

  addNetworkInterface(nic: NetworkInterfaceInit): void {
    this.nics.set(resourceKey(nic.subscriptionId, nic.resourceGroup, nic.name), nic);
  }

  networkInterface(subscriptionId: string, resourceGroup: string, name: string): NetworkInterfaceInit | undefined {
    return this.nics.get(resourceKey(subscriptionId, resourceGroup, name));
  }

  addVm(init: VmInit): Vm {
    this.addTenant(init.tenantId);
    const vm: Vm = { principalId: randomUUID(), networkInterfaces: [], ...init };
    this.vmList.push(vm);
    return vm;
  }

  vm(subscriptionId: string, resourceGroup: string, name: string): Vm | undefined {
    const key = resourceKey(subscriptionId, resourceGroup, name);
    return this.vmList.find((vm) => resourceKey(vm.subscriptionId, vm.resourceGroup, vm.name) === key);
  }

  deleteVm(vm: Vm): void {
    this.vmList.splice(this.vmList.indexOf(vm), 1);
  }

  // --- faults

  /** `arm`, `entra` or every service answers 503 until cleared. */
  setDown(service: AzureService | '*', down: boolean): void {
    if (down) this.down.add(service);
    else this.down.delete(service);
  }

  isDown(service: AzureService): boolean {
    return this.down.has(service) || this.down.has('*');
  }

  /** `service` answers 200 with a body that never ends (a broken or hostile endpoint) until cleared. */
  setEndless(service: AzureService, endless: boolean): void {
    if (endless) this.endless.add(service);
    else this.endless.delete(service);
  }

  isEndless(service: AzureService): boolean {
    return this.endless.has(service);
  }

  /** The next `count` requests to `service` answer 429 (with a short Retry-After). */
  setThrottle(service: AzureService, count: number): void {
    this.throttles.set(service, count);
  }

  takeThrottle(service: AzureService): boolean {
    const left = this.throttles.get(service) ?? 0;
    if (left <= 0) return false;
    this.throttles.set(service, left - 1);
    return true;
  }

  clearFaults(): void {
    this.down.clear();
    this.endless.clear();
    this.throttles = new Map();
  }
}

/** ARM compares resource IDs case-insensitively. */
function resourceKey(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${subscriptionId}/${resourceGroup}/${name}`.toLowerCase();
}

function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid: randomBytes(16).toString('base64url'), privateKey, publicKey };
}
