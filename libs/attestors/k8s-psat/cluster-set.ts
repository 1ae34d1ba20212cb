import { signatureKeyOf, type SignatureKey } from './signature-key';

/** The `KubernetesClusters` section's spec (policy.md). */
export interface KubernetesClustersSpec {
  clusters: { name: string; issuer: string; audience: string; jwksUri?: string; jwks?: { keys: unknown[] } }[];
}

/** One cluster as the verifier uses it: inline keys already imported, or the URI to fetch them from. */
export interface KubernetesCluster {
  name: string;
  issuer: string;
  audience: string;
  keys: { inline: Map<string, SignatureKey> } | { jwksUri: string };
}

export class ClusterSetError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(`KubernetesClusters: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  }
}

/**
 * The clusters of the active KubernetesClusters version, compiled once per
 * version: every problem is collected before failing, so a push names them all.
 */
export class KubernetesClusterSet {
  private constructor(private readonly clusters: ReadonlyMap<string, KubernetesCluster>) {}

  static empty(): KubernetesClusterSet {
    return new KubernetesClusterSet(new Map());
  }

  /** Throws ClusterSetError naming each unusable cluster or key. */
  static build(spec: KubernetesClustersSpec): KubernetesClusterSet {
    const problems: { path: string; message: string }[] = [];
    const clusters = new Map<string, KubernetesCluster>();
    spec.clusters.forEach((cluster, i) => {
      const path = `/spec/clusters/${i}`;
      if (clusters.has(cluster.name))
        problems.push({ path: `${path}/name`, message: `cluster ${cluster.name} is listed twice` });
      const keys = keySourceOf(cluster, path, problems);
      if (keys)
        clusters.set(cluster.name, { name: cluster.name, issuer: cluster.issuer, audience: cluster.audience, keys });
    });
    if (problems.length > 0) throw new ClusterSetError(problems);
    return new KubernetesClusterSet(clusters);
  }

  cluster(name: string): KubernetesCluster | undefined {
    return this.clusters.get(name);
  }
}

function keySourceOf(
  cluster: KubernetesClustersSpec['clusters'][number],
  path: string,
  problems: { path: string; message: string }[],
): KubernetesCluster['keys'] | undefined {
  if ((cluster.jwksUri === undefined) === (cluster.jwks === undefined)) {
    problems.push({ path, message: `cluster ${cluster.name} needs exactly one of jwksUri and jwks` });
    return undefined;
  }
  if (cluster.jwksUri !== undefined) return { jwksUri: cluster.jwksUri };
  const inline = new Map<string, SignatureKey>();
  cluster.jwks!.keys.forEach((jwk, k) => {
    const key = signatureKeyOf(jwk);
    if (typeof key === 'string') problems.push({ path: `${path}/jwks/keys/${k}`, message: `key ${key}` });
    else if (inline.has(key.kid))
      problems.push({ path: `${path}/jwks/keys/${k}`, message: `key kid ${key.kid} is listed twice` });
    else inline.set(key.kid, key);
  });
  return { inline };
}
