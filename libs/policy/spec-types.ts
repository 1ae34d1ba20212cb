// The validated shapes of the three sections (`policy.md`), as stored: defaults
// (svidTtl 1h, tofu true) are applied by the compiler, not written back.

export type SectionName = 'AgentAttestation' | 'AwsIidCertificates' | 'KubernetesClusters';
export const SECTION_NAMES: readonly SectionName[] = ['AgentAttestation', 'AwsIidCertificates', 'KubernetesClusters'];

/**
 * A raw rule as written in the document: serialisable, checked by JSON Schema
 * for types and unknown keys, then by the rule validator for its form
 * (exactly one operator, `attribute` where needed, valid regex and CIDR).
 */
export interface RuleSpec {
  attribute?: string;
  equals?: string;
  in?: string[];
  glob?: string;
  regex?: string;
  cidr?: string;
  exists?: boolean;
  equalsAttribute?: string;
  every?: boolean;
  not?: RuleSpec;
  allOf?: RuleSpec[];
  anyOf?: RuleSpec[];
}

export interface RequiredAttestorSpec {
  type: string;
  /** per-attestor settings, checked against that attestor's config schema; absent means `{}` */
  config?: unknown;
}

export interface PolicySpec {
  name: string;
  requiredAttestors: RequiredAttestorSpec[];
  rules?: RuleSpec[];
  spiffeIdTemplate?: string;
  svidTtl?: string;
  tofu?: boolean;
}

export interface AgentAttestationSpec {
  policies: PolicySpec[];
}

export interface AwsIidCertificateSpec {
  /** AWS region names, or `*` for every region */
  regions: string[];
  pem: string;
}

export interface AwsIidCertificatesSpec {
  replaceBuiltIn?: boolean;
  certificates: AwsIidCertificateSpec[];
}

export interface KubernetesClusterSpec {
  name: string;
  issuer: string;
  audience: string;
  /** exactly one of `jwksUri` and `jwks` */
  jwksUri?: string;
  jwks?: { keys: Record<string, unknown>[] };
}

export interface KubernetesClustersSpec {
  clusters: KubernetesClusterSpec[];
}

export interface SpecOf {
  AgentAttestation: AgentAttestationSpec;
  AwsIidCertificates: AwsIidCertificatesSpec;
  KubernetesClusters: KubernetesClustersSpec;
}

/** A validated document of section `S`; `ConfigDocument` alone is any of the three. */
export type ConfigDocument<S extends SectionName = SectionName> = {
  [K in S]: { section: K; schema: 'v1'; spec: SpecOf[K] };
}[S];
