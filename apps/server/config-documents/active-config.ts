import { createHash } from 'node:crypto';
import {
  compileAgentAttestation,
  validateDocument,
  type CompiledPolicySet,
  type ConfigDocument,
  type ConfigError,
  type ConfigWarning,
  type SectionName,
} from '../../../libs/policy';
import type { AttestorDescriptor } from '../../../libs/attestors/attestor';
import { IidTrustSet, IidTrustSetError, type AwsIidCertificatesSpec } from '../../../libs/attestors/aws-iid/trust-set';
import { ClusterSetError, KubernetesClusterSet, type KubernetesClustersSpec } from '../../../libs/attestors/k8s-psat/cluster-set';

export const SECTIONS: readonly SectionName[] = ['AgentAttestation', 'AwsIidCertificates', 'KubernetesClusters'];

export function isSection(name: string): name is SectionName {
  return (SECTIONS as readonly string[]).includes(name);
}

/** One validated version of one section, compiled where the section has rules. */
export interface ActiveSection {
  section: SectionName;
  version: number;
  sha256: string;
  document: ConfigDocument;
}

/**
 * The configuration a replica enforces right now: the newest version of
 * each section, the AgentAttestation policies compiled once per version.
 * Pure state; the service around it does the I/O.
 */
export class ActiveConfig {
  private readonly sections = new Map<SectionName, ActiveSection>();
  private compiledPolicies: CompiledPolicySet;
  private trustSet = IidTrustSet.builtIn();
  private clusterSet = KubernetesClusterSet.empty();

  constructor(private readonly catalog: readonly AttestorDescriptor[]) {
    this.compiledPolicies = compileAgentAttestation({ policies: [] }, catalog);
  }

  get policies(): CompiledPolicySet {
    return this.compiledPolicies;
  }

  /** AWS's shipped IID certificates plus the AwsIidCertificates section's */
  get iidTrust(): IidTrustSet {
    return this.trustSet;
  }

  /** the KubernetesClusters section's clusters, inline keys imported */
  get kubernetesClusters(): KubernetesClusterSet {
    return this.clusterSet;
  }

  version(section: SectionName): number {
    return this.sections.get(section)?.version ?? 0;
  }

  get(section: SectionName): ActiveSection | undefined {
    return this.sections.get(section);
  }

  /** Installs a stored version (already validated when it was pushed). */
  activate(entry: ActiveSection): void {
    if (entry.section === 'AgentAttestation') {
      this.compiledPolicies = compileAgentAttestation(entry.document.spec as Parameters<typeof compileAgentAttestation>[0], this.catalog);
    }
    if (entry.section === 'AwsIidCertificates') this.trustSet = IidTrustSet.build(entry.document.spec as AwsIidCertificatesSpec);
    if (entry.section === 'KubernetesClusters') this.clusterSet = KubernetesClusterSet.build(entry.document.spec as KubernetesClustersSpec);
    this.sections.set(entry.section, entry);
  }

  validate(
    section: SectionName,
    body: string,
    contentType?: 'yaml' | 'json',
  ): { ok: true; document: ConfigDocument; sha256: string; warnings: ConfigWarning[] } | { ok: false; errors: ConfigError[] } {
    const result = validateDocument(section, body, this.catalog, contentType ? { contentType } : undefined);
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
