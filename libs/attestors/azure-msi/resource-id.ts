/**
 * An ARM resource as Azure names it in a managed-identity token's `xms_mirid`
 * and `xms_az_rid` claims
 * (`/subscriptions/{sub}/resourcegroups/{rg}/providers/{namespace}/{type}/{name}`).
 */
export interface ArmResource {
  /** lowercase, as ARM compares it */
  subscriptionId: string;
  resourceGroup: string;
  /** `{namespace}/{type}` as written, e.g. `Microsoft.Compute/virtualMachines` */
  type: string;
  name: string;
  /** what kind of managed-identity resource it is, as far as `azure_msi` cares */
  kind: 'virtual_machine' | 'user_assigned_identity' | 'other';
}

const SEGMENT = '[^/]{1,128}';
/** Namespace and type words: ARM's alphabet, so a type is safe to quote in a reason. */
const WORD = '[A-Za-z0-9.]{1,128}';
/** Child resources (`…/virtualMachineScaleSets/{s}/virtualMachines/{n}`) are kept as a tail, never a VM. */
const RESOURCE = new RegExp(
  `^/subscriptions/(${SEGMENT})/resourcegroups/(${SEGMENT})/providers/(${WORD}/${WORD})/(${SEGMENT})((?:/${SEGMENT})*)$`,
  'i',
);

const KINDS: Record<string, ArmResource['kind']> = {
  'microsoft.compute/virtualmachines': 'virtual_machine',
  'microsoft.managedidentity/userassignedidentities': 'user_assigned_identity',
};

/** Reads an ARM resource ID case-insensitively, as ARM compares them; null for anything else. */
export function parseArmResource(resourceId: string): ArmResource | null {
  const m = RESOURCE.exec(resourceId);
  if (!m) return null;
  const type = m[3]!;
  const kind = m[5] === '' ? (KINDS[type.toLowerCase()] ?? 'other') : 'other';
  return {
    subscriptionId: m[1]!.toLowerCase(),
    resourceGroup: m[2]!,
    type: m[5] === '' ? type : `${type}/…`,
    name: m[4]!,
    kind,
  };
}

/** Whether two parsed resources are the same one (ARM IDs compare case-insensitively). */
export function sameResource(a: ArmResource, b: ArmResource): boolean {
  const key = (r: ArmResource) => `${r.subscriptionId}/${r.resourceGroup}/${r.type}/${r.name}`.toLowerCase();
  return key(a) === key(b);
}
