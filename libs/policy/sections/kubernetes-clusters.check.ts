import { joinPointer } from '../json-pointer';
import type { SchemaError } from '../schemas/schema-validator';
import type { SchemaVerdict } from '../schemas/schema-verdict';
import type { KubernetesClustersSpec } from '../spec-types';

/**
 * Unique names, exactly one source of signing keys per cluster, and https
 * URLs where keys are fetched: the jwksUri, and the issuer beside it (the
 * keys' host vouches for the issuer's name). With inline keys the issuer is
 * only compared with the token's `iss`, so any string will do, as clusters
 * such as minikube sign `kubernetes/serviceaccount`.
 */
export function checkKubernetesClusters(spec: KubernetesClustersSpec, verdict: SchemaVerdict): SchemaError[] {
  const errors: SchemaError[] = [];
  const firstByName = new Map<string, number>();
  spec.clusters.forEach((cluster, i) => {
    const path = joinPointer('/spec/clusters', i);
    if (!verdict.shaped(path)) return;
    if (verdict.holds(joinPointer(path, 'name'))) {
      const first = firstByName.get(cluster.name);
      if (first === undefined) firstByName.set(cluster.name, i);
      else
        errors.push({
          path: joinPointer(path, 'name'),
          message: `duplicate cluster name ${cluster.name} (also /spec/clusters/${first})`,
          at: 'value',
        });
    }
    const fetched = cluster.jwksUri === undefined ? [] : (['issuer', 'jwksUri'] as const);
    for (const key of fetched) {
      const url = cluster[key];
      if (url !== undefined && verdict.holds(joinPointer(path, key)) && !isHttpsUrl(url)) {
        errors.push({
          path: joinPointer(path, key),
          message:
            key === 'issuer' ? 'must be an https URL when keys are fetched from jwksUri' : 'must be an https URL',
          at: 'value',
        });
      }
    }
    if ((cluster.jwksUri === undefined) === (cluster.jwks === undefined)) {
      errors.push({ path, message: 'must have exactly one of jwksUri and jwks', at: 'value' });
    }
  });
  return errors;
}

function isHttpsUrl(text: string): boolean {
  return URL.canParse(text) && new URL(text).protocol === 'https:';
}
