/** What an `xms_mirid` names: always a subscription; a VM when the identity is a VM's (system-assigned). */
export interface IdentityResource {
  subscriptionId: string;
  resourceGroup: string;
  vm?: { name: string };
}

const SEGMENT = '[^/]{1,128}';
const PREFIX = `^/subscriptions/(${SEGMENT})/resourcegroups/(${SEGMENT})/providers/`;
const VM = new RegExp(`${PREFIX}Microsoft\\.Compute/virtualMachines/(${SEGMENT})$`, 'i');
const ANY_RESOURCE = new RegExp(`${PREFIX}[^/]{1,128}/.{1,1024}$`, 'i');

/**
 * Reads an ARM resource ID as Azure writes it in `xms_mirid`
 * (`/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}`),
 * case-insensitively as ARM compares them. Null for anything else.
 */
export function parseIdentityResource(resourceId: string): IdentityResource | null {
  const vm = VM.exec(resourceId);
  if (vm) return { subscriptionId: vm[1]!.toLowerCase(), resourceGroup: vm[2]!, vm: { name: vm[3]! } };
  const other = ANY_RESOURCE.exec(resourceId);
  return other ? { subscriptionId: other[1]!.toLowerCase(), resourceGroup: other[2]! } : null;
}
