import { createHash } from 'node:crypto';
import type { AttestorDescriptor } from '@libs/attestors/attestor';
import { IidTrustSet, IidTrustSetError, type AwsIidCertificatesSpec } from '@libs/attestors/aws-iid/trust-set';
import {
  ClusterSetError,
  KubernetesClusterSet,
  type KubernetesClustersSpec,
} from '@libs/attestors/k8s-psat/cluster-set';
import {
  validateDocument,
  type ConfigDocument,
  type ConfigError,
  type ConfigWarning,
  type SectionName,
} from '@libs/policy';

export type SectionValidation =
  | { ok: true; document: ConfigDocument; sha256: string; warnings: ConfigWarning[] }
  | { ok: false; errors: ConfigError[] };

/**
 * Everything a pushed document must pass, pure and synchronous: the policy
 * library's validation, then what only building the section tells (usable
 * certificates, importable keys). Runs in the document worker
 * (`document-worker.ts`) for requests, and inline for the seed files at start.
 */
export function validateSection(
  section: SectionName,
  body: string,
  catalog: readonly AttestorDescriptor[],
  contentType?: 'yaml' | 'json',
): SectionValidation {
  const result = validateDocument(section, body, catalog, contentType ? { contentType } : undefined);
  if (!result.ok) return result;
  if (section === 'AwsIidCertificates') {
    // The schema checks a PEM's shape; only parsing it tells a usable RSA certificate.
    try {
      IidTrustSet.build(result.value.spec as AwsIidCertificatesSpec);
    } catch (error) {
      if (!(error instanceof IidTrustSetError)) throw error;
      return { ok: false, errors: error.problems.map((p) => ({ path: p.path, message: p.message })) };
    }
  }
  if (section === 'KubernetesClusters') {
    // The schema checks a JWK's shape loosely; only importing it tells a usable RS256/ES256 key.
    try {
      KubernetesClusterSet.build(result.value.spec as KubernetesClustersSpec);
    } catch (error) {
      if (!(error instanceof ClusterSetError)) throw error;
      return { ok: false, errors: error.problems };
    }
  }
  return { ok: true, document: result.value, sha256: contentHash(result.value), warnings: result.warnings };
}

/**
 * The hash of a document's content, not its text: comments and formatting
 * do not make a new version. Keys are sorted so equal content hashes equal.
 */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
