import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { ClusterKey } from './keys';

/** Who the token is for: a pod of a service account, on a node (omit `node` for clusters that do not bind it). */
export interface PodIdentity {
  namespace: string;
  serviceAccount: string;
  pod: string;
  /** defaults to a fresh UUID */
  podUid?: string;
  node?: string | null;
}

export interface MintOptions {
  audience?: string | string[];
  issuer?: string;
  /** lifetime in seconds; negative for an expired token. Default 3600, as a kubelet asks. */
  ttlSeconds?: number;
  /** claims replaced or added after the Kubernetes layout is built (`{ 'kubernetes.io': undefined }` removes it) */
  override?: Record<string, unknown>;
  /** a key other than the cluster's, e.g. to forge */
  key?: ClusterKey;
  /** header members added to the protected header */
  header?: Record<string, unknown>;
}

/**
 * The claim layout of a projected (bound) service-account token as the
 * API server's TokenRequest issues it:
 * `kubernetes.io: { namespace, pod: {name, uid}, serviceaccount: {name, uid}, node: {name, uid} }`,
 * `sub: system:serviceaccount:<ns>:<sa>`, `iat`/`nbf`/`exp`.
 */
export function projectedClaims(
  identity: PodIdentity,
  options: { issuer: string; audience: string | string[]; ttlSeconds: number; now?: number },
): JWTPayload {
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const node = identity.node === null ? undefined : (identity.node ?? 'ip-10-0-0-1.ec2.internal');
  return {
    aud: Array.isArray(options.audience) ? options.audience : [options.audience],
    exp: now + options.ttlSeconds,
    iat: now,
    nbf: now,
    iss: options.issuer,
    jti: randomUUID(),
    sub: `system:serviceaccount:${identity.namespace}:${identity.serviceAccount}`,
    'kubernetes.io': {
      namespace: identity.namespace,
      pod: { name: identity.pod, uid: identity.podUid ?? randomUUID() },
      serviceaccount: {
        name: identity.serviceAccount,
        uid: stableUid(`${identity.namespace}/${identity.serviceAccount}`),
      },
      ...(node !== undefined && { node: { name: node, uid: stableUid(`node/${node}`) } }),
    },
  };
}

export async function signToken(
  claims: JWTPayload,
  key: ClusterKey,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

/** The same name always gets the same UID, as a service account or node keeps its UID. */
function stableUid(name: string): string {
  const hex = Buffer.from(name).toString('hex').padEnd(32, '0').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
