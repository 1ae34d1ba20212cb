import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { AzureWorld, ServicePrincipal, Vm } from './world';

/** How long minted tokens last (Azure's managed-identity tokens last hours). */
const TOKEN_LIFETIME_SECONDS = 3600;

export interface MintOptions {
  /** the `iss` form: v2 `{authority}/{tid}/v2.0` (default) or v1 `https://sts.windows.net/{tid}/` */
  issuer?: 'v1' | 'v2';
  /** seconds since the epoch; default now */
  issuedAt?: number;
  lifetimeSeconds?: number;
}

/** Signs `claims` with the tenant's current key, `kid` in the header, as Entra does. */
export async function signAsTenant(world: AzureWorld, tenantId: string, claims: JWTPayload): Promise<string> {
  const [key] = world.signingKeys(tenantId);
  if (!key) throw new Error(`azure-simulator: no tenant ${tenantId}`);
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);
}

/** The access token Azure IMDS gives a VM's system-assigned identity for `resource`. */
export function mintManagedIdentityToken(world: AzureWorld, authority: string, vm: Vm, resource: string, options: MintOptions = {}): Promise<string> {
  const resourceId = `/subscriptions/${vm.subscriptionId}/resourcegroups/${vm.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}`;
  return signAsTenant(world, vm.tenantId, {
    ...times(options),
    aud: resource,
    iss: issuer(authority, vm.tenantId, options.issuer),
    tid: vm.tenantId,
    oid: vm.principalId,
    sub: vm.principalId,
    appid: randomUUID(),
    idtyp: 'app',
    xms_mirid: resourceId,
  });
}

/** The token the Entra token endpoint issues to a service principal (client credentials). */
export function mintAppToken(world: AzureWorld, authority: string, principal: ServicePrincipal, resource: string, options: MintOptions = {}): Promise<string> {
  return signAsTenant(world, principal.tenantId, {
    ...times(options),
    aud: resource,
    iss: issuer(authority, principal.tenantId, options.issuer),
    tid: principal.tenantId,
    oid: principal.clientId,
    sub: principal.clientId,
    appid: principal.clientId,
    idtyp: 'app',
  });
}

/** The tenant's JWKS as Entra publishes it (`/{tenant}/discovery/v2.0/keys`). */
export async function tenantJwks(world: AzureWorld, tenantId: string): Promise<JSONWebKeySet> {
  const keys = await Promise.all(
    world.signingKeys(tenantId).map(async (key) => ({ ...(await exportJWK(key.publicKey)), kid: key.kid, use: 'sig', alg: 'RS256' })),
  );
  return { keys };
}

/** ARM's check of a bearer token: a tenant key signed it, for ARM's audience, and it is current. */
export async function verifyArmBearer(world: AzureWorld, authority: string, token: string, audiences: string[]): Promise<JWTPayload | null> {
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

function times(options: MintOptions): { iat: number; nbf: number; exp: number } {
  const iat = options.issuedAt ?? Math.floor(Date.now() / 1000);
  return { iat, nbf: iat, exp: iat + (options.lifetimeSeconds ?? TOKEN_LIFETIME_SECONDS) };
}
