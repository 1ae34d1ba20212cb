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
  /** ARM's `properties.vmId`; default a new UUID */
  vmId?: string;
  /** whether the VM has a system-assigned identity; default true */
  systemAssigned?: boolean;
  /** the system-assigned identity's object ID; default a new UUID */
  principalId?: string;
  /** the system-assigned identity's client (application) ID; default a new UUID */
  clientId?: string;
  /** network interfaces by name, in the VM's resource group and subscription */
  networkInterfaces?: string[];
  /** resource IDs of the user-assigned identities attached to the VM (`world.addUserAssignedIdentity`) */
  userAssignedIdentities?: string[];
}

/** A user-assigned managed identity (`Microsoft.ManagedIdentity/userAssignedIdentities`). */
export interface UserAssignedIdentityInit {
  tenantId: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** its service principal's object ID (`oid` in its tokens); default a new UUID */
  principalId?: string;
  /** its client ID (`appid`); default a new UUID */
  clientId?: string;
}

/** A member of a tenant who signs in with a password (`az login`, ROPC). */
export interface UserInit {
  tenantId: string;
  userPrincipalName: string;
  password?: string;
  objectId?: string;
}

export type Vm = Required<VmInit>;
export type ServicePrincipal = Required<ServicePrincipalInit>;
export type UserAssignedIdentity = Required<UserAssignedIdentityInit> & { resourceId: string };
export type User = Required<UserInit>;
export type AzureService = 'entra' | 'arm';

export interface WorldInit {
  tenants?: TenantInit[];
  servicePrincipals?: ServicePrincipalInit[];
  users?: UserInit[];
  userAssignedIdentities?: UserAssignedIdentityInit[];
  vms?: VmInit[];
  networkInterfaces?: NetworkInterfaceInit[];
}

export class AzureWorld {
  private readonly keys = new Map<string, SigningKey[]>();
  private readonly principals: ServicePrincipal[] = [];
  private readonly users: User[] = [];
  private readonly identities = new Map<string, UserAssignedIdentity>();
  private readonly vmList: Vm[] = [];
  private readonly nics = new Map<string, NetworkInterfaceInit>();
  private readonly down = new Set<AzureService | '*'>();
  private readonly endless = new Set<AzureService>();
  private throttles = new Map<AzureService, number>();

  constructor(init: WorldInit = {}) {
    for (const tenant of init.tenants ?? []) this.addTenant(tenant.id);
    for (const sp of init.servicePrincipals ?? []) this.addServicePrincipal(sp);
    for (const user of init.users ?? []) this.addUser(user);
    for (const identity of init.userAssignedIdentities ?? []) this.addUserAssignedIdentity(identity);
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
    const sp = {
      tenantId: init.tenantId,
      clientId: init.clientId ?? randomUUID(),
      clientSecret: init.clientSecret ?? randomBytes(24).toString('base64url'),
    };
    this.principals.push(sp);
    return sp;
  }

  servicePrincipal(tenantId: string, clientId: string): ServicePrincipal | undefined {
    return this.principals.find((p) => p.tenantId.toLowerCase() === tenantId.toLowerCase() && p.clientId === clientId);
  }

  // --- users (password sign-in)

  addUser(init: UserInit): User {
    this.addTenant(init.tenantId);
    const user = { password: randomBytes(12).toString('base64url'), objectId: randomUUID(), ...init };
    this.users.push(user);
    return user;
  }

  user(tenantId: string, userPrincipalName: string): User | undefined {
    return this.users.find(
      (u) =>
        u.tenantId.toLowerCase() === tenantId.toLowerCase() &&
        u.userPrincipalName.toLowerCase() === userPrincipalName.toLowerCase(),
    );
  }

  // --- resources

  addUserAssignedIdentity(init: UserAssignedIdentityInit): UserAssignedIdentity {
    this.addTenant(init.tenantId);
    const resourceId = `/subscriptions/${init.subscriptionId}/resourcegroups/${init.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${init.name}`;
    const identity = { principalId: randomUUID(), clientId: randomUUID(), ...init, resourceId };
    this.identities.set(resourceId.toLowerCase(), identity);
    return identity;
  }

  /** By resource ID, compared case-insensitively as ARM does. */
  userAssignedIdentity(resourceId: string): UserAssignedIdentity | undefined {
    return this.identities.get(resourceId.toLowerCase());
  }

  addNetworkInterface(nic: NetworkInterfaceInit): void {
    this.nics.set(resourceKey(nic.subscriptionId, nic.resourceGroup, nic.name), nic);
  }

  networkInterface(subscriptionId: string, resourceGroup: string, name: string): NetworkInterfaceInit | undefined {
    return this.nics.get(resourceKey(subscriptionId, resourceGroup, name));
  }

  addVm(init: VmInit): Vm {
    this.addTenant(init.tenantId);
    const vm: Vm = {
      vmId: randomUUID(),
      systemAssigned: true,
      principalId: randomUUID(),
      clientId: randomUUID(),
      networkInterfaces: [],
      userAssignedIdentities: [],
      ...init,
    };
    this.vmList.push(vm);
    return vm;
  }

  vm(subscriptionId: string, resourceGroup: string, name: string): Vm | undefined {
    const key = resourceKey(subscriptionId, resourceGroup, name);
    return this.vmList.find((vm) => resourceKey(vm.subscriptionId, vm.resourceGroup, vm.name) === key);
  }

  /** The VM's resource ID as Azure writes it in `xms_mirid` and `xms_az_rid` (`resourcegroups` lowercase). */
  vmResourceId(vm: Vm): string {
    return `/subscriptions/${vm.subscriptionId}/resourcegroups/${vm.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}`;
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
