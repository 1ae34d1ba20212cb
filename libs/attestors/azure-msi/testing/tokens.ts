import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { AzureKeySource } from '../../azure/ports';

// Tests only: an Entra tenant made at run time (RSA key, JWKS) and tokens
// shaped as Azure IMDS issues them, each claim overridable.

export const AUTHORITY = 'https://login.microsoftonline.com';
export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const OTHER_TENANT = '0d2a3b7c-1111-4222-8333-944445555666';
export const PRINCIPAL = '2c4e6a8b-0d1f-4a3b-9c5d-7e9f1a3b5c7d';
export const SUBSCRIPTION = '6c2b3c0e-9f1a-4b2c-8d3e-4f5a6b7c8d9e';
export const RESOURCE = 'https://management.azure.com/';
/** the Azure CLI's public client ID, the `appid` of `az login` tokens */
export const AZURE_CLI_APP_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
export const VM_RESOURCE_ID = `/subscriptions/${SUBSCRIPTION}/resourcegroups/frontend/providers/Microsoft.Compute/virtualMachines/blog`;
export const IDENTITY_RESOURCE_ID = `/subscriptions/${SUBSCRIPTION}/resourcegroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-nodes`;

export interface TestTenant {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwks(): Promise<JSONWebKeySet>;
}

export function testTenant(): TestTenant {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  return {
    kid,
    privateKey,
    publicKey,
    jwks: async () => ({ keys: [{ ...(await exportJWK(publicKey)), kid, use: 'sig' }] }),
  };
}

/** A key source serving each tenant's JWKS, counting fetches. */
export function fakeKeySource(tenants: Record<string, TestTenant>): AzureKeySource & { fetches: string[] } {
  const fetches: string[] = [];
  return {
    fetches,
    async fetchKeys(tenantId) {
      fetches.push(tenantId);
      const tenant = tenants[tenantId];
      return tenant ? tenant.jwks() : { keys: [] };
    },
  };
}

/** The claims every access token of the tenant for ARM carries. */
function baseClaims(now: number): JWTPayload {
  return { aud: RESOURCE, iss: `${AUTHORITY}/${TENANT}/v2.0`, iat: now, nbf: now, exp: now + 3600, tid: TENANT };
}

/** A VM's system-assigned identity, as IMDS issues it: `xms_mirid` names the VM. */
export function vmClaims(overrides: JWTPayload = {}, now = Math.floor(Date.now() / 1000)): JWTPayload {
  return {
    ...baseClaims(now),
    oid: PRINCIPAL,
    sub: PRINCIPAL,
    appid: randomUUID(),
    appidacr: '2',
    idtyp: 'app',
    xms_mirid: VM_RESOURCE_ID,
    ...overrides,
  };
}

/** A user-assigned identity the `blog` VM asked IMDS for: `xms_mirid` names the identity, `xms_az_rid` the VM. */
export function userAssignedClaims(overrides: JWTPayload = {}, now = Math.floor(Date.now() / 1000)): JWTPayload {
  return vmClaims({ xms_mirid: IDENTITY_RESOURCE_ID, xms_az_rid: VM_RESOURCE_ID, ...overrides }, now);
}

/** A user's delegated token from `az login` (Azure CLI, ROPC or device code). */
export function userClaims(overrides: JWTPayload = {}, now = Math.floor(Date.now() / 1000)): JWTPayload {
  return {
    ...baseClaims(now),
    oid: PRINCIPAL,
    sub: 'pairwise-subject-of-the-user-for-this-app',
    appid: AZURE_CLI_APP_ID,
    appidacr: '0',
    idtyp: 'user',
    scp: 'user_impersonation',
    upn: 'alice@contoso.example',
    unique_name: 'alice@contoso.example',
    amr: ['pwd'],
    ...overrides,
  };
}

/** A service principal's app-only token from the client-credentials grant with a secret. */
export function appClaims(overrides: JWTPayload = {}, now = Math.floor(Date.now() / 1000)): JWTPayload {
  return {
    ...baseClaims(now),
    oid: PRINCIPAL,
    sub: PRINCIPAL,
    appid: randomUUID(),
    appidacr: '1',
    idtyp: 'app',
    ...overrides,
  };
}

export function signRs256(
  tenant: TestTenant,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: tenant.kid, ...header })
    .sign(tenant.privateKey);
}

/** A JWT with `header` and `claims` and a given (possibly empty) signature part. */
export function unsignedJwt(header: Record<string, unknown>, claims: JWTPayload, signature = ''): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(claims)}.${signature}`;
}
