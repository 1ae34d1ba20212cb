import { errors, jwtVerify, type JWTPayload } from 'jose';
import { rejectionOf } from '../attestor';
import { checkJwtHeader } from '../jwt-header';
import type { KubernetesCluster } from './cluster-set';
import type { RemoteKeySets } from './remote-keys';
import type { SignatureKey } from './signature-key';

/** `exp` and `nbf` hold with this much clock skew, as for `azure_msi`. */
const CLOCK_SKEW_SECONDS = 300;
/** Headers that would let the token name its own key. */

/** What a verified bound service-account token says (the `kubernetes.io` claim). */
export interface PsatClaims {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  pod: { name: string; uid: string };
  node?: { name: string; uid: string };
}

/**
 * Steps 2-4 of `k8s_psat`: the header is checked before any key is looked up,
 * then jose verifies the signature with the cluster's key (the key's own
 * algorithm only), the issuer, the audience and the times; last, the token
 * must be bound to a pod.
 */
export async function verifyPsatToken(
  token: string,
  cluster: KubernetesCluster,
  remote: RemoteKeySets,
  now: Date,
): Promise<PsatClaims> {
  const kid = checkHeader(token);
  const key =
    'inline' in cluster.keys ? (cluster.keys.inline.get(kid) ?? null) : await remote.key(cluster.keys.jwksUri, kid);
  if (!key) reject(`no signing key ${kid} in the JWKS of cluster ${cluster.name}`);
  const payload = await verified(token, key, cluster, now);
  return boundClaims(payload);
}

function reject(reason: string, agentReason?: string): never {
  throw rejectionOf('k8s_psat', reason, agentReason);
}

function checkHeader(token: string): string {
  return checkJwtHeader(token, ['RS256', 'ES256'], reject);
}

async function verified(token: string, key: SignatureKey, cluster: KubernetesCluster, now: Date): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, key.key, {
      algorithms: [key.alg],
      issuer: cluster.issuer,
      audience: cluster.audience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: now,
      requiredClaims: ['exp'],
    });
    return payload;
  } catch (error) {
    const reason = joseReason(error, cluster);
    // the configured audience is the operator's to read, not the caller's
    reject(
      reason,
      reason.startsWith('token audience') ? `token audience is not the audience of cluster ${cluster.name}` : reason,
    );
  }
}

/** jose's failures in the operator's words; nothing from the token is echoed but claim names. */
function joseReason(error: unknown, cluster: KubernetesCluster): string {
  if (error instanceof errors.JOSEAlgNotAllowed)
    return `token algorithm does not match the algorithm of its key in cluster ${cluster.name}`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  if (error instanceof errors.JWTExpired) return 'token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return `token issuer is not the issuer of cluster ${cluster.name}`;
    if (error.claim === 'aud') return `token audience does not contain ${JSON.stringify(cluster.audience)}`;
    if (error.claim === 'nbf') return 'token is not valid yet';
    return `token claim ${error.claim} is invalid`;
  }
  if (error instanceof errors.JOSEError) return `token is invalid (${error.code})`;
  return 'token is invalid';
}

/** A bound token names its pod; a legacy secret-based token does not and is refused. */
function boundClaims(payload: JWTPayload): PsatClaims {
  const k8s = objectAt(payload, 'kubernetes.io');
  if (!k8s) reject('token is not a bound service-account token (no kubernetes.io claim)');
  const namespace = k8s.namespace;
  if (!isName(namespace)) reject('token kubernetes.io claim has no namespace');
  const serviceAccount = nameAndUid(k8s, 'serviceaccount');
  if (!serviceAccount) reject('token kubernetes.io claim has no serviceaccount name and uid');
  const pod = nameAndUid(k8s, 'pod');
  if (!pod) reject('token is not bound to a pod (kubernetes.io.pod name and uid)');
  if (payload.sub !== `system:serviceaccount:${namespace}:${serviceAccount.name}`)
    reject('token subject does not name its service account');
  const node = k8s.node === undefined ? undefined : nameAndUid(k8s, 'node');
  if (node === null) reject('token kubernetes.io.node claim has no name and uid');
  return { namespace, serviceAccount, pod, ...(node && { node }) };
}

function objectAt(value: unknown, key: string): Record<string, unknown> | undefined {
  const child = (value as Record<string, unknown>)[key];
  return typeof child === 'object' && child !== null && !Array.isArray(child)
    ? (child as Record<string, unknown>)
    : undefined;
}

function nameAndUid(k8s: Record<string, unknown>, key: string): { name: string; uid: string } | null {
  const entry = objectAt(k8s, key);
  return entry && isName(entry.name) && isName(entry.uid) ? { name: entry.name, uid: entry.uid } : null;
}

/** Kubernetes names and UIDs: non-empty, bounded (a DNS subdomain is at most 253 characters). */
function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 253;
}
