import type { AttestorDescriptor, Attributes } from '../attestors/attestor';
import { tryParseDuration } from './duration';
import { compileRule, type RulePredicate } from './rules/compile-rule';
import { describeRule } from './rules/describe-rule';
import { DEFAULT_SVID_TTL } from './sections/agent-attestation.check';
import { compileTemplate, parseTemplate, type RenderResult } from './spiffe-id/template';
import type { AgentAttestationSpec, PolicySpec } from './spec-types';

export interface Decision {
  holds: boolean;
  /** the first rule that does not hold, in operator words */
  failed?: string;
}

export interface CompiledPolicy {
  readonly name: string;
  readonly requiredAttestors: readonly { type: string; config: unknown }[];
  readonly requiredTypes: readonly string[];
  readonly svidTtlSeconds: number;
  readonly tofu: boolean;
  /** Whether every rule holds. Returns shared, frozen decisions: no allocation per call. */
  evaluate(attributes: Attributes): Decision;
  renderSpiffeIdPath(attributes: Attributes, agentUuid: string): RenderResult;
}

export interface CompiledPolicySet {
  readonly policies: readonly CompiledPolicy[];
  /** Policies whose required attestor types are all provided, in document order. */
  candidatesFor(providedMethods: readonly string[]): CompiledPolicy[];
}

const HOLDS: Decision = Object.freeze({ holds: true });

/**
 * Compiles a validated AgentAttestation spec once per version: rules become
 * closures, templates are pre-split, defaults are applied. Throws only on a
 * spec `validateDocument` would have rejected.
 */
export function compileAgentAttestation(spec: AgentAttestationSpec, catalog: readonly AttestorDescriptor[]): CompiledPolicySet {
  const byType = new Map(catalog.map((descriptor) => [descriptor.type, descriptor]));
  const policies = spec.policies.map((policy) => Object.freeze(compilePolicy(policy, byType)));
  return Object.freeze({
    policies: Object.freeze(policies),
    candidatesFor(providedMethods: readonly string[]): CompiledPolicy[] {
      const provided = new Set(providedMethods);
      return policies.filter((policy) => policy.requiredTypes.every((type) => provided.has(type)));
    },
  });
}

function compilePolicy(policy: PolicySpec, byType: ReadonlyMap<string, AttestorDescriptor>): CompiledPolicy {
  const requiredAttestors = policy.requiredAttestors.map(({ type, config }) => Object.freeze({ type, config: config ?? {} }));
  const requiredTypes = requiredAttestors.map((attestor) => attestor.type);
  const first = byType.get(requiredTypes[0]);
  const templateText = policy.spiffeIdTemplate ?? first?.defaultSpiffeIdPath;
  if (templateText === undefined) throw new Error(`policy ${policy.name}: unknown attestor ${requiredTypes[0]}`);
  const template = parseTemplate(templateText);
  if (!template.ok) throw new Error(`policy ${policy.name}: template ${templateText} ${template.problems.join('; ')}`);
  const svidTtlSeconds = tryParseDuration(policy.svidTtl ?? DEFAULT_SVID_TTL);
  if (svidTtlSeconds === undefined) throw new Error(`policy ${policy.name}: svidTtl ${policy.svidTtl} was not validated`);

  return {
    name: policy.name,
    requiredAttestors: Object.freeze(requiredAttestors),
    requiredTypes: Object.freeze(requiredTypes),
    svidTtlSeconds,
    tofu: policy.tofu ?? true,
    evaluate: compileRules(policy),
    renderSpiffeIdPath: compileTemplate(template.template),
  };
}

function compileRules(policy: PolicySpec): (attributes: Attributes) => Decision {
  const rules = policy.rules ?? [];
  const predicates: RulePredicate[] = rules.map(compileRule);
  // one frozen failure per rule, described once, so a denial allocates nothing
  const failures: Decision[] = rules.map((rule, i) =>
    Object.freeze({ holds: false, failed: `rule ${i + 1} (${describeRule(rule)}) does not hold` }),
  );
  return (attributes) => {
    for (let i = 0; i < predicates.length; i++) {
      if (!predicates[i](attributes)) return failures[i];
    }
    return HOLDS;
  };
}
