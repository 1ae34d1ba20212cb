import type { Attestor, AttestorDescriptor } from './attestor';
import type { AwsCloud, StsSender } from './aws/ports';
import { awsIamAttestor } from './aws-iam/aws-iam.attestor';
import { awsIidAttestor } from './aws-iid/aws-iid.attestor';
import type { IidTrustSet } from './aws-iid/trust-set';
import type { AzureCloud } from './azure/ports';
import { azureMsiAttestor } from './azure-msi/azure-msi.attestor';
import type { SigningKeys } from './azure-msi/signing-keys';
import { joinTokenAttestor, type JoinTokenLookup } from './join-token/join-token.attestor';
import type { KubernetesClusterSet } from './k8s-psat/cluster-set';
import { k8sPsatAttestor } from './k8s-psat/k8s-psat.attestor';
import type { RemoteKeySets } from './k8s-psat/remote-keys';

/** The ports attestors may use; the server wires real adapters, tests fakes. */
export interface AttestorPorts {
  joinTokens: JoinTokenLookup;
  aws: AwsCloud;
  sts: StsSender;
  /** the AWS IID trust set of the active AwsIidCertificates version */
  iidTrust(): IidTrustSet;
  awsSettings: {
    partition: 'aws' | 'aws-cn' | 'aws-us-gov';
    disableInstanceProfileSelectors: boolean;
    skipBlockDevice: boolean;
  };
  /** `azure_msi`: ARM look-ups, the tenants' signing keys, `azure.authorityHost` */
  azure: { cloud: AzureCloud; keys: SigningKeys; authorityHost: string };
  /** `k8s_psat`: the clusters of the active KubernetesClusters version, the cached `jwksUri` key sets */
  k8s: { clusters(): KubernetesClusterSet; remoteKeys: RemoteKeySets };
}

/** Every attestor attestd ships, in one explicit list (SPIRE's catalog). */
export function builtInAttestors(ports: AttestorPorts): Attestor[] {
  return [
    awsIidAttestor({ cloud: ports.aws, trust: ports.iidTrust, settings: ports.awsSettings }),
    awsIamAttestor({ accounts: ports.aws, sts: ports.sts, partition: ports.awsSettings.partition }),
    joinTokenAttestor(ports.joinTokens),
    azureMsiAttestor(ports.azure),
    k8sPsatAttestor(ports.k8s),
  ];
}

/**
 * The built-in attestors as configuration validation sees them (types,
 * attribute names, config schemas), for tools that never verify a proof:
 * every port refuses to be used.
 */
export function builtInDescriptors(): AttestorDescriptor[] {
  const refuse = (): never => {
    throw new Error('attestor ports are not available here: descriptors only');
  };
  const unusable = new Proxy({}, { get: () => refuse }) as never;
  return builtInAttestors({
    joinTokens: unusable,
    aws: unusable,
    sts: unusable,
    iidTrust: refuse,
    awsSettings: { partition: 'aws', disableInstanceProfileSelectors: false, skipBlockDevice: false },
    azure: { cloud: unusable, keys: unusable, authorityHost: 'https://login.microsoftonline.com' },
    k8s: { clusters: refuse, remoteKeys: unusable },
  });
}
