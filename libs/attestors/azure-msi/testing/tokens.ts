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

export interface TestTenant {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwks(): Promise<JSONWebKeySet>;
}

export function testTenant(): TestTenant {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  return { kid, privateKey, publicKey, jwks: async () => ({ keys: [{ ...(await exportJWK(publicKey)), kid, use: 'sig' }] }) };
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

export function vmClaims(overrides: JWTPayload = {}, now = Math.floor(Date.now() / 1000)): JWTPayload {
  return {
    aud: RESOURCE,
    iss: `${AUTHORITY}/${TENANT}/v2.0`,
    iat: now,
    nbf: now,
    exp: now + 3600,
    tid: TENANT,
    oid: PRINCIPAL,
    sub: PRINCIPAL,
    idtyp: 'app',
    xms_mirid: `/subscriptions/${SUBSCRIPTION}/resourcegroups/frontend/providers/Microsoft.Compute/virtualMachines/blog`,
    ...overrides,
  };
}

export function signRs256(tenant: TestTenant, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: tenant.kid, ...header }).sign(tenant.privateKey);
}

/** A JWT with `header` and `claims` and a given (possibly empty) signature part. */
export function unsignedJwt(header: Record<string, unknown>, claims: JWTPayload, signature = ''): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(claims)}.${signature}`;
}
