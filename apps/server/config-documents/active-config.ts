import {
  compileAgentAttestation,
  compileAgentAttestationStepwise,
  type AgentAttestationSpec,
  type CompiledPolicySet,
  type ConfigDocument,
  type SectionName,
} from '@libs/policy';
import type { AttestorDescriptor } from '@libs/attestors/attestor';
import { IidTrustSet, type AwsIidCertificatesSpec } from '@libs/attestors/aws-iid/trust-set';
import { KubernetesClusterSet, type KubernetesClustersSpec } from '@libs/attestors/k8s-psat/cluster-set';
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

  /**
   * Installs a stored version (already validated when it was pushed), unless
   * a newer one of its section was installed meanwhile; says whether it did.
   * Logins go on with the previous version until the new one is compiled.
   */
  async activate(entry: ActiveSection): Promise<boolean> {
    if (entry.section === 'AgentAttestation') {
      const compiled = await compileInSlices(
        compileAgentAttestationStepwise(entry.document.spec as AgentAttestationSpec, this.catalog),
      );
      if (entry.version <= this.version(entry.section)) return false;
      this.compiledPolicies = compiled;
    }
    if (entry.version <= this.version(entry.section)) return false;
    if (entry.section === 'AwsIidCertificates')
      this.trustSet = IidTrustSet.build(entry.document.spec as AwsIidCertificatesSpec);
    if (entry.section === 'KubernetesClusters')
      this.clusterSet = KubernetesClusterSet.build(entry.document.spec as KubernetesClustersSpec);
    this.sections.set(entry.section, entry);
    return true;
  }

  /** Synchronous: for the seed files at start. Requests validate in the document worker. */
  validate(section: SectionName, body: string, contentType?: 'yaml' | 'json'): SectionValidation {
    return validateSection(section, body, this.catalog, contentType);
  }
}

/** How long one slice of a compilation may hold the event loop. */
const COMPILE_SLICE_MS = 10;

/**
 * Runs a stepwise compilation a slice at a time, yielding to the event loop
 * between slices: compiling 1,000 policies of 10 rules takes 30-120 ms of
 * CPU (more while the regex engine is cold), longer than a login may wait.
 */
async function compileInSlices<T>(steps: Generator<void, T, void>): Promise<T> {
  for (;;) {
    const sliceEnd = performance.now() + COMPILE_SLICE_MS;
    let step = steps.next();
    while (!step.done && performance.now() < sliceEnd) step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
