import { joinPointer } from '../json-pointer';
import type { SchemaError } from '../schemas/schema-validator';
import type { SchemaVerdict } from '../schemas/schema-verdict';
import type { KubernetesClustersSpec } from '../spec-types';

/** Unique names, a parseable issuer, and exactly one source of signing keys per cluster. */
export function checkKubernetesClusters(spec: KubernetesClustersSpec, verdict: SchemaVerdict): SchemaError[] {
  const errors: SchemaError[] = [];
  const firstByName = new Map<string, number>();
  spec.clusters.forEach((cluster, i) => {
    const path = joinPointer('/spec/clusters', i);
    if (!verdict.shaped(path)) return;
    if (verdict.holds(joinPointer(path, 'name'))) {
      const first = firstByName.get(cluster.name);
      if (first === undefined) firstByName.set(cluster.name, i);
      else errors.push({ path: joinPointer(path, 'name'), message: `duplicate cluster name ${cluster.name} (also /spec/clusters/${first})`, at: 'value' });
    }
    for (const key of ['issuer', 'jwksUri'] as const) {
      const url = cluster[key];
      if (url !== undefined && verdict.holds(joinPointer(path, key)) && !URL.canParse(url)) errors.push({ path: joinPointer(path, key), message: 'must be an https URL', at: 'value' });
    }
    if ((cluster.jwksUri === undefined) === (cluster.jwks === undefined)) {
      errors.push({ path, message: 'must have exactly one of jwksUri and jwks', at: 'value' });
    }
  });
  return errors;
}
