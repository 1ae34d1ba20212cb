import { ProofRejected } from '../attestor';
import { parseArmResource, sameResource, type ArmResource } from './resource-id';
import type { MsiClaims } from './token';

/**
 * The node a verified token stands for. Only a managed identity of a virtual
 * machine is one: its system-assigned identity (`xms_mirid` names the VM), or
 * a user-assigned identity the VM asked IMDS for (`xms_mirid` names the
 * identity, `xms_az_rid` the VM).
 */
export type ManagedIdentity =
  { type: 'system_assigned'; vm: ArmResource } | { type: 'user_assigned'; identity: ArmResource; vm: ArmResource };

/**
 * Step 5 of `azure_msi`: whose token this is. Entra signs tokens of every
 * principal of a tenant for ARM's audience: a user's (`az login`), a service
 * principal's (client secret or certificate), a managed identity's. Only the
 * last is a machine Azure vouches for, and only Entra's managed-identity
 * service writes `xms_mirid` (an application cannot ask for `xms_*` claims),
 * so that claim, naming a VM or a user-assigned identity, is what is
 * required; the user-token markers are checked first only to say plainly
 * what was sent. `appidacr` is not used: Entra sets it to 2 (certificate)
 * for managed identities and for certificate-authenticated applications
 * alike, and to 2 for some users' tokens too.
 */
export function managedIdentityOf(claims: MsiClaims): ManagedIdentity {
  if (claims.userClaim !== undefined || claims.idtyp === 'user') {
    notManagedIdentity(
      `it is a user's delegated token (${claims.userClaim !== undefined ? `${claims.userClaim} claim` : 'idtyp user'})`,
    );
  }
  if (claims.idtyp !== undefined && claims.idtyp !== 'app')
    notManagedIdentity(`its idtyp is ${JSON.stringify(claims.idtyp.slice(0, 32))}, not app`);
  if (claims.identityResourceId === undefined)
    notManagedIdentity("it has no xms_mirid claim (an application's or a user's token)");
  const named = parseArmResource(claims.identityResourceId);
  if (!named) reject('token xms_mirid is not an Azure resource ID');
  const requester = claims.requesterResourceId === undefined ? undefined : parseArmResource(claims.requesterResourceId);
  if (requester === null) reject('token xms_az_rid is not an Azure resource ID');
  if (named.kind === 'virtual_machine') {
    if (requester && !sameResource(requester, named))
      reject("token xms_az_rid names another resource than the VM's own identity (xms_mirid)");
    return { type: 'system_assigned', vm: named };
  }
  if (named.kind === 'user_assigned_identity') {
    if (!requester)
      notVirtualMachine('a user-assigned identity token that names no virtual machine (no xms_az_rid claim)');
    if (requester.kind !== 'virtual_machine')
      notVirtualMachine(`a user-assigned identity token issued to a ${requester.type} resource (xms_az_rid)`);
    return { type: 'user_assigned', identity: named, vm: requester };
  }
  notVirtualMachine(`the identity of a ${named.type} resource (xms_mirid)`);
}

function notManagedIdentity(why: string): never {
  reject(`token is not a managed identity's: ${why}`);
}

function notVirtualMachine(what: string): never {
  reject(`token is not a virtual machine's managed identity: ${what}`);
}

function reject(reason: string): never {
  throw new ProofRejected(`azure_msi: ${reason}`);
}
