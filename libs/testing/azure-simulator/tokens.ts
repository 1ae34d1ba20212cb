import { createHash } from 'node:crypto';
import { createLocalJWKSet, exportJWK, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { AzureWorld, ServicePrincipal, User, UserAssignedIdentity, Vm } from './world';

/** How long minted tokens last (Azure's managed-identity tokens last hours). */
const TOKEN_LIFETIME_SECONDS = 3600;

export interface MintOptions {
  /** the `iss` form: v2 `{authority}/{tid}/v2.0` (default) or v1 `https://sts.windows.net/{tid}/` */
  issuer?: 'v1' | 'v2';
  /** seconds since the epoch; default now */
  issuedAt?: number;
  lifetimeSeconds?: number;
}

/**
 * Signs `claims` with the tenant's current key as Entra does: RS256, `kid` in
 * the header, and for v1 tokens (`ver: 1.0`) the same thumbprint as `x5t`.
 */
export async function signAsTenant(world: AzureWorld, tenantId: string, claims: JWTPayload): Promise<string> {
  const [key] = world.signingKeys(tenantId);
  if (!key) throw new Error(`azure-simulator: no tenant ${tenantId}`);
  const header = { alg: 'RS256', typ: 'JWT', ...(claims.ver === '1.0' && { x5t: key.kid }), kid: key.kid };
  return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
}

/**
 * The access token Azure IMDS gives a VM's managed identity for `resource`:
 * its system-assigned identity (`xms_mirid` names the VM), or `identity`, one
 * of its user-assigned identities (`xms_mirid` names the identity,
 * `xms_az_rid` the VM). App-only, certificate-authenticated (`appidacr` 2).
 */
export function mintManagedIdentityToken(
  world: AzureWorld,
  authority: string,
  vm: Vm,
  resource: string,
  options: MintOptions & { identity?: UserAssignedIdentity } = {},
): Promise<string> {
  const { identity } = options;
  if (!identity && !vm.systemAssigned)
    throw new Error(`azure-simulator: VM ${vm.name} has no system-assigned identity`);
  const principalId = identity ? identity.principalId : vm.principalId;
  return signAsTenant(world, vm.tenantId, {
    ...standardClaims(authority, vm.tenantId, resource, options),
    ...client(options.issuer, identity ? identity.clientId : vm.clientId, '2'),
    oid: principalId,
    sub: principalId,
    idtyp: 'app',
    xms_mirid: identity ? identity.resourceId : world.vmResourceId(vm),
    ...(identity && { xms_az_rid: world.vmResourceId(vm) }),
  });
}

/** The token the Entra token endpoint issues to a service principal (client credentials with a secret). */
export function mintAppToken(
  world: AzureWorld,
  authority: string,
  principal: ServicePrincipal,
  resource: string,
  options: MintOptions = {},
): Promise<string> {
  return signAsTenant(world, principal.tenantId, {
    ...standardClaims(authority, principal.tenantId, resource, options),
    ...client(options.issuer, principal.clientId, '1'),
    oid: principal.clientId,
    sub: principal.clientId,
    idtyp: 'app',
  });
}

/**
 * A user's delegated token, as `az login` gets one through a public client
 * (`clientId`, the Azure CLI's by default): `scp`, `upn`, `idtyp: user`, and
 * a `sub` that is pairwise (per user and application), not the object ID.
 */
export function mintUserToken(
  world: AzureWorld,
  authority: string,
  user: User,
  clientId: string,
  resource: string,
  options: MintOptions = {},
): Promise<string> {
  return signAsTenant(world, user.tenantId, {
    ...standardClaims(authority, user.tenantId, resource, options),
    ...client(options.issuer, clientId, '0'),
    acr: '1',
    amr: ['pwd'],
    idtyp: 'user',
    name: user.userPrincipalName.split('@')[0],
    oid: user.objectId,
    scp: 'user_impersonation',
    sub: createHash('sha256').update(`${user.objectId}/${clientId}`).digest('base64url').slice(0, 43),
    unique_name: user.userPrincipalName,
    upn: user.userPrincipalName,
  });
}

/** The Azure CLI's public client ID: the `appid` of `az login` tokens. */
export const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

/** The tenant's JWKS as Entra publishes it (`/{tenant}/discovery/v2.0/keys`). */
export async function tenantJwks(world: AzureWorld, tenantId: string): Promise<JSONWebKeySet> {
  const keys = await Promise.all(
    world
      .signingKeys(tenantId)
      .map(async (key) => ({ ...(await exportJWK(key.publicKey)), kid: key.kid, use: 'sig', alg: 'RS256' })),
  );
  return { keys };
}

/** ARM's check of a bearer token: a tenant key signed it, for ARM's audience, and it is current. */
export async function verifyArmBearer(
  world: AzureWorld,
  authority: string,
  token: string,
  audiences: string[],
): Promise<JWTPayload | null> {
  try {
    const [, body] = token.split('.');
    const tid = (JSON.parse(Buffer.from(body ?? '', 'base64url').toString('utf8')) as { tid?: unknown }).tid;
    if (typeof tid !== 'string' || !world.hasTenant(tid)) return null;
    const { payload } = await jwtVerify(token, createLocalJWKSet(await tenantJwks(world, tid)), {
      algorithms: ['RS256'],
      audience: audiences,
      issuer: [issuer(authority, tid, 'v2'), issuer(authority, tid, 'v1')],
    });
    return payload;
  } catch {
    return null;
  }
}

function issuer(authority: string, tenantId: string, form: 'v1' | 'v2' = 'v2'): string {
  return form === 'v1' ? `https://sts.windows.net/${tenantId}/` : `${authority}/${tenantId}/v2.0`;
}

/** `aud`, `iss`, the times, `tid` and `ver`, as every access token of the tenant has them. */
function standardClaims(authority: string, tenantId: string, resource: string, options: MintOptions): JWTPayload {
  return {
    ...times(options),
    aud: resource,
    iss: issuer(authority, tenantId, options.issuer),
    tid: tenantId,
    ver: options.issuer === 'v1' ? '1.0' : '2.0',
  };
}

/** The client and how it authenticated: `appid`/`appidacr` in v1 tokens, `azp`/`azpacr` in v2 (0 public, 1 secret, 2 certificate). */
function client(form: MintOptions['issuer'], clientId: string, acr: '0' | '1' | '2'): JWTPayload {
  return form === 'v1' ? { appid: clientId, appidacr: acr } : { azp: clientId, azpacr: acr };
}

function times(options: MintOptions): { iat: number; nbf: number; exp: number } {
  const iat = options.issuedAt ?? Math.floor(Date.now() / 1000);
  return { iat, nbf: iat, exp: iat + (options.lifetimeSeconds ?? TOKEN_LIFETIME_SECONDS) };
}
