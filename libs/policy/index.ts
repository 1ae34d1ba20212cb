// The policy library's public API: the only file other code imports.
// Pipeline: parse (bounded YAML) → validate (schemas, then semantics) →
// compile (closures, once per version) → evaluate (per login).

export type { ConfigError, ConfigWarning, ValidationResult } from './config-error';
export { formatConfigError } from './config-error';
export { parseDuration } from './duration';
export { validateDocument } from './validate-document';
export { compileAgentAttestation, compileAgentAttestationStepwise } from './compile-policy';
export type { CompiledAttestor, CompiledPolicy, CompiledPolicySet, Decision } from './compile-policy';
export { spiffeIdFor } from './spiffe-id/spiffe-id';
export type { RenderResult } from './spiffe-id/template';
export type {
  SectionName,
  ConfigDocument,
  AgentAttestationSpec,
  PolicySpec,
  RequiredAttestorSpec,
  RuleSpec,
  AwsIidCertificatesSpec,
  AwsIidCertificateSpec,
  KubernetesClustersSpec,
  KubernetesClusterSpec,
} from './spec-types';
export { SECTION_NAMES } from './spec-types';
export { MAX_DOCUMENT_BYTES, MAX_NESTING_DEPTH, MAX_ALIAS_COUNT } from './yaml-document';
export { MIN_SVID_TTL_SECONDS, MAX_SVID_TTL_SECONDS } from './sections/agent-attestation.check';
