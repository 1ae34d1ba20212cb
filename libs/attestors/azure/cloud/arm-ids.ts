/**
 * ARM resource IDs of the network resources a VM's interfaces point at
 * (`/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/...`),
 * read case-insensitively as ARM compares them. The names come from Azure's
 * own answers, never from the agent.
 */
const SEGMENT = '([^/]{1,128})';
const BASE = `^/subscriptions/${SEGMENT}/resourceGroups/${SEGMENT}/providers/`;
const NIC = new RegExp(`${BASE}Microsoft\\.Network/networkInterfaces/${SEGMENT}$`, 'i');
const NSG = new RegExp(`${BASE}Microsoft\\.Network/networkSecurityGroups/${SEGMENT}$`, 'i');
const SUBNET = new RegExp(`${BASE}Microsoft\\.Network/virtualNetworks/${SEGMENT}/subnets/${SEGMENT}$`, 'i');

export interface NicId {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export function parseNicId(id: string | undefined): NicId | null {
  const m = id === undefined ? null : NIC.exec(id);
  return m ? { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! } : null;
}

export function parseNsgId(id: string | undefined): { resourceGroup: string; name: string } | null {
  const m = id === undefined ? null : NSG.exec(id);
  return m ? { resourceGroup: m[2]!, name: m[3]! } : null;
}

export function parseSubnetId(
  id: string | undefined,
): { resourceGroup: string; virtualNetwork: string; name: string } | null {
  const m = id === undefined ? null : SUBNET.exec(id);
  return m ? { resourceGroup: m[2]!, virtualNetwork: m[3]!, name: m[4]! } : null;
}
