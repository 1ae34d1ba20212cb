import { compileAgentAttestation, type CompiledPolicySet, type ConfigDocument, type SectionName } from '../../../libs/policy';
import type { AttestorDescriptor } from '../../../libs/attestors/attestor';
import { IidTrustSet, type AwsIidCertificatesSpec } from '../../../libs/attestors/aws-iid/trust-set';
import { KubernetesClusterSet, type KubernetesClustersSpec } from '../../../libs/attestors/k8s-psat/cluster-set';
import { validateSection, type SectionValidation } from './section-validation';

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

  /** Synchronous: for the seed files at start. Requests validate in the document worker. */
  validate(section: SectionName, body: string, contentType?: 'yaml' | 'json'): SectionValidation {
    return validateSection(section, body, this.catalog, contentType);
  }
}
