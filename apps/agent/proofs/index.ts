import { CollectorSettingsError, type ProofCollector } from './collector';
import { awsIamCollector, type AwsIamSettings } from './aws-iam';
import { awsIidCollector, type AwsIidSettings } from './aws-iid';
import { azureMsiCollector, type AzureMsiSettings } from './azure-msi';
import { joinTokenCollector, type JoinTokenSettings } from './join-token';
import { k8sPsatCollector, type K8sPsatSettings } from './k8s-psat';

/** Everything any collector may be configured with; each reads its own part. */
export type CollectorSettings = JoinTokenSettings &
  AwsIidSettings &
  AwsIamSettings &
  AzureMsiSettings &
  K8sPsatSettings;

export type CollectorFactory = (settings: CollectorSettings) => ProofCollector;

/**
 * The attestors this agent can collect proofs for, by name. The one list to
 * extend when a collector is added (`aws_iid`, `aws_iam`, `azure_msi`, `k8s_psat`).
 */
export const COLLECTORS: Readonly<Record<string, CollectorFactory>> = Object.freeze({
  aws_iam: awsIamCollector,
  aws_iid: awsIidCollector,
  azure_msi: azureMsiCollector,
  join_token: joinTokenCollector,
  k8s_psat: k8sPsatCollector,
});

export function collectorNames(): string[] {
  return Object.keys(COLLECTORS).sort();
}

export function isKnownAttestor(name: string): boolean {
  return Object.hasOwn(COLLECTORS, name);
}

/**
 * Builds the collector for `name`. Throws CollectorSettingsError for an
 * unknown name or incomplete settings, and when a factory answers for
 * another type than it is registered under.
 */
export function createCollector(name: string, settings: CollectorSettings): ProofCollector {
  if (!isKnownAttestor(name)) {
    throw new CollectorSettingsError(
      `unknown attestor ${JSON.stringify(name)} (known: ${collectorNames().join(', ')})`,
    );
  }
  const collector = COLLECTORS[name]!(settings);
  if (collector.type !== name) {
    throw new Error(`collector registered as ${name} reports type ${collector.type}`);
  }
  return collector;
}
