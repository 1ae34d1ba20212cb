import { decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { rejectionOf } from '../attestor';
import { checkJwtHeader } from '../jwt-header';
import type { SigningKeys, VerificationKey } from './signing-keys';

/** `exp` and `nbf` hold with this much clock skew (attestors.md). */
const CLOCK_SKEW_SECONDS = 300;
/** The form of Entra object and tenant IDs (`oid`, `tid`). */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TenantPolicy {
  id: string;
  /** the token's expected `aud` */
  resourceId: string;
}

/** What a verified access token says, before anything decides whether it is a managed identity's. */
export interface MsiClaims {
  tenantId: string;
  principalId: string;
  /** `xms_mirid`: the managed identity's resource (a VM for a system-assigned identity, else the user-assigned identity) */
  identityResourceId?: string;
  /** `xms_az_rid`: the resource that asked for a user-assigned identity's token (its VM) */
  requesterResourceId?: string;
  /** `idtyp`: `app` for app-only tokens (managed identities, service principals), `user` for delegated ones */
  idtyp?: string;
  /** the claim that marks a user's delegated token (`scp`, `upn`, `unique_name`), if any */
  userClaim?: string;
}

/** Claims only a token issued on behalf of a signed-in user carries. */
const USER_CLAIMS = ['scp', 'upn', 'unique_name'] as const;

/**
 * Steps 1 to 4 of `azure_msi` (README): the header is checked before any
 * key is looked up, the tenant is one of the policy's before its keys are
 * fetched (no look-ups for tenants nobody allowed), then jose verifies the
 * RS256 signature with the tenant's key, the issuer (v2 or v1), the audience
 * and the times. Whose token it is (step 5) is `managed-identity.ts`'s call.
 */
export async function verifyMsiToken(
  token: string,
  tenants: readonly TenantPolicy[],
  keys: SigningKeys,
  authorityHost: string,
  now: Date,
): Promise<MsiClaims> {
  const kid = checkHeader(token);
  const tid = unverifiedTenant(token);
  const tenant = tenants.find((t) => t.id.toLowerCase() === tid.toLowerCase());
  if (!tenant) reject(`tenant ${tid} is not allowed by this policy`, 'tenant is not allowed');
  const key = await keys.key(tenant.id, kid);
  if (!key) reject(`no signing key ${kid} in the metadata of tenant ${tenant.id}`);
  const payload = await verified(token, key, {
    issuer: [`${authorityHost.replace(/\/+$/, '')}/${tid}/v2.0`, `https://sts.windows.net/${tid}/`],
    audience: tenant.resourceId,
    now,
  });
  if (typeof payload.oid !== 'string' || !GUID.test(payload.oid)) reject('token has no object ID (oid) claim');
  const mirid = optionalString(payload, 'xms_mirid');
  const azRid = optionalString(payload, 'xms_az_rid');
  const idtyp = optionalString(payload, 'idtyp');
  const userClaim = USER_CLAIMS.find((name) => payload[name] !== undefined);
  return {
    tenantId: tid.toLowerCase(),
    principalId: payload.oid.toLowerCase(),
    ...(mirid !== undefined && { identityResourceId: mirid }),
    ...(azRid !== undefined && { requesterResourceId: azRid }),
    ...(idtyp !== undefined && { idtyp }),
    ...(userClaim !== undefined && { userClaim }),
  };
}

function optionalString(payload: JWTPayload, name: string): string | undefined {
  const value = payload[name];
  if (value !== undefined && typeof value !== 'string') reject(`token ${name} claim is not a string`);
  return value;
}

function reject(reason: string, agentReason?: string): never {
  throw rejectionOf('azure_msi', reason, agentReason);
}

function checkHeader(token: string): string {
  return checkJwtHeader(token, ['RS256'], reject);
}

/** The `tid` claim, read before the signature only to choose the tenant's keys. */
function unverifiedTenant(token: string): string {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    reject('token payload is not a JWT claims set');
  }
  if (typeof payload.tid !== 'string' || !GUID.test(payload.tid)) reject('token has no tenant ID (tid) claim');
  return payload.tid;
}

async function verified(
  token: string,
  key: VerificationKey,
  expect: { issuer: string[]; audience: string; now: Date },
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['RS256'],
      issuer: expect.issuer,
      audience: expect.audience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: expect.now,
      requiredClaims: ['exp'],
    });
    return payload;
  } catch (error) {
    reject(joseReason(error));
  }
}

/** jose's failures in the operator's words; nothing from the token is echoed but claim names. */
function joseReason(error: unknown): string {
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  if (error instanceof errors.JWTExpired) return 'token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'token issuer does not match its tenant';
    if (error.claim === 'aud') return "token audience is not the tenant's resourceId";
    if (error.claim === 'nbf') return 'token is not valid yet';
    return `token claim ${error.claim} is invalid`;
  }
  if (error instanceof errors.JOSEError) return `token is invalid (${error.code})`;
  return 'token is invalid';
}
