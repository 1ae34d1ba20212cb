import type { JSONSchemaType } from 'ajv';
import { rejectionOf, type Attestor, type Verified } from '../attestor';
import type { KubernetesClusterSet } from './cluster-set';
import type { RemoteKeySets } from './remote-keys';
import { verifyPsatToken, type PsatClaims } from './token';

export interface K8sPsatProof {
  /** the cluster's name in the KubernetesClusters section */
  cluster: string;
  /** the projected service-account token the kubelet wrote for the agent's pod */
  token: string;
}

export interface K8sPsatConfig {
  clusters: string[];
}

export interface K8sPsatPorts {
  /** the clusters of the active KubernetesClusters version */
  clusters(): KubernetesClusterSet;
  /** the cached key sets behind `jwksUri`s */
  remoteKeys: RemoteKeySets;
}

/** as in the KubernetesClusters schema (libs/policy, which depends on us, not we on it) */
const CLUSTER_NAME: JSONSchemaType<string> = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9._-]+$',
};

const CONFIG_SCHEMA: JSONSchemaType<K8sPsatConfig> = {
  type: 'object',
  additionalProperties: false,
  required: ['clusters'],
  properties: { clusters: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: CLUSTER_NAME } },
};

/** Projected tokens are about 1 KiB; the agent's body is capped at 64 KiB anyway. */
const PROOF_SCHEMA: JSONSchemaType<K8sPsatProof> = {
  type: 'object',
  additionalProperties: false,
  required: ['cluster', 'token'],
  properties: { cluster: CLUSTER_NAME, token: { type: 'string', minLength: 1, maxLength: 16384 } },
};

const ATTRIBUTES = ['cluster', 'namespace', 'service_account', 'pod.name', 'pod.uid', 'node.name', 'node.uid'];

/**
 * `k8s_psat` (attestors.md): a projected service-account token of the
 * agent's pod, verified against its cluster's issuer and keys.
 */
export function k8sPsatAttestor(ports: K8sPsatPorts): Attestor<K8sPsatProof, K8sPsatConfig> {
  return {
    type: 'k8s_psat',
    attributes: ATTRIBUTES,
    singleValued: ATTRIBUTES,
    nodeUnique: ['pod.uid'],
    // whoever may create pods names them; a pod name is free again once its pod is gone
    callerChosen: ['pod.name'],
    configSchema: CONFIG_SCHEMA,
    proofSchema: PROOF_SCHEMA,
    defaultSpiffeIdPath: '/agent/k8s_psat/{{k8s_psat.cluster}}/{{k8s_psat.pod.uid}}',
    bindsChallenge: false,
    async verify(proof, config, context): Promise<Verified> {
      // step 1: the policy's clusters first, so nobody can make us fetch keys of a cluster no policy allows
      if (!config.clusters.includes(proof.cluster))
        reject(`cluster ${proof.cluster} is not allowed by this policy`, 'cluster is not allowed');
      const cluster = ports.clusters().cluster(proof.cluster);
      if (!cluster)
        reject(`cluster ${proof.cluster} is not in the KubernetesClusters section`, 'cluster is not allowed');
      const claims = await verifyPsatToken(proof.token, cluster, ports.remoteKeys, context.now); // steps 2-4
      return {
        attributes: attributesOf(proof.cluster, claims),
        selectors: selectorsOf(proof.cluster, claims),
        tofuKey: `k8s_psat/${proof.cluster}/${claims.pod.uid}`, // step 5
      };
    },
  };
}

function reject(reason: string, agentReason?: string): never {
  throw rejectionOf('k8s_psat', reason, agentReason);
}

function attributesOf(cluster: string, claims: PsatClaims): Record<string, string[]> {
  return {
    cluster: [cluster],
    namespace: [claims.namespace],
    service_account: [claims.serviceAccount.name],
    'pod.name': [claims.pod.name],
    'pod.uid': [claims.pod.uid],
    ...(claims.node && { 'node.name': [claims.node.name], 'node.uid': [claims.node.uid] }),
  };
}

/** SPIRE's k8s_psat selectors (from the token alone), so workload registrations carry over. */
function selectorsOf(cluster: string, claims: PsatClaims): string[] {
  return [
    `cluster:${cluster}`,
    `agent_ns:${claims.namespace}`,
    `agent_sa:${claims.serviceAccount.name}`,
    `agent_pod_name:${claims.pod.name}`,
    `agent_pod_uid:${claims.pod.uid}`,
    ...(claims.node ? [`agent_node_name:${claims.node.name}`, `agent_node_uid:${claims.node.uid}`] : []),
  ];
}
