import { readFile } from 'node:fs/promises';
import { CollectorSettingsError, type ProofCollector } from './collector';

export interface K8sPsatSettings {
  /** the projected service-account token's file; default DEFAULT_K8S_TOKEN_FILE */
  k8sTokenFile?: string;
  /** the cluster's name in the server's KubernetesClusters section (required for k8s_psat) */
  k8sCluster?: string;
}

/** Where a projected volume named `tokens` with path `attestd` puts the token. */
export const DEFAULT_K8S_TOKEN_FILE = '/var/run/secrets/tokens/attestd';
/** Projected tokens are about 1 KiB; the server accepts at most 16 KiB. */
const MAX_TOKEN_BYTES = 16 * 1024;

/**
 * `k8s_psat`: the projected service-account token the kubelet keeps fresh in
 * the pod's volume, read anew at each login (the kubelet rotates it), sent
 * with the cluster's name. Errors name the file, never the token.
 */
export function k8sPsatCollector(settings: K8sPsatSettings): ProofCollector {
  const cluster = settings.k8sCluster;
  if (!cluster)
    throw new CollectorSettingsError('k8s_psat: --k8s-cluster is required (the cluster name the server knows)');
  const file = settings.k8sTokenFile ?? DEFAULT_K8S_TOKEN_FILE;
  return {
    type: 'k8s_psat',
    async collect() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new Error(
          `k8s_psat: cannot read the service-account token file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
      const token = text.trim();
      if (token === '') throw new Error(`k8s_psat: the service-account token file ${file} is empty`);
      if (token.length > MAX_TOKEN_BYTES)
        throw new Error(`k8s_psat: the service-account token file ${file} is larger than ${MAX_TOKEN_BYTES} bytes`);
      return { cluster, token };
    },
  };
}
