import type { AttestorDescriptor, Attributes } from '@libs/attestors/attestor';
import { candidateIndex } from './candidate-index';
import { tryParseDuration } from './duration';
import { compileRule, type OperandCache, type RulePredicate } from './rules/compile-rule';
import { describeRule } from './rules/describe-rule';
import { DEFAULT_SVID_TTL } from './sections/agent-attestation.check';
import { compileTemplate, parseTemplate, type RenderResult } from './spiffe-id/template';
import type { AgentAttestationSpec, PolicySpec } from './spec-types';

export interface Decision {
  holds: boolean;
  /** the first rule that does not hold, in operator words */
  failed?: string;
}

/** One required attestor of a compiled policy. */
export interface CompiledAttestor {
  readonly type: string;
  readonly config: unknown;
  /**
   * The same for every required attestor of the version with this type and
   * an equal config, and different otherwise: the login verifies each
   * (type, config) once, looked up by this key, made once at compile time.
   */
  readonly verificationKey: string;
}

export interface CompiledPolicy {
  readonly name: string;
  readonly requiredAttestors: readonly CompiledAttestor[];
  readonly requiredTypes: readonly string[];
  readonly svidTtlSeconds: number;
  readonly tofu: boolean;
  /** Whether every rule holds. Returns shared, frozen decisions: no allocation per call. */
  evaluate(attributes: Attributes): Decision;
  renderSpiffeIdPath(attributes: Attributes, agentUuid: string): RenderResult;
}

export interface CompiledPolicySet {
  readonly policies: readonly CompiledPolicy[];
  /**
   * Policies whose required attestor types are all provided, in document
   * order. Looked up in an index of the version's attestor sets, not by
   * reading every policy; the answer is shared and frozen.
   */
  candidatesFor(providedMethods: readonly string[]): readonly CompiledPolicy[];
}

const HOLDS: Decision = Object.freeze({ holds: true });

/**
 * Compiles a validated AgentAttestation spec once per version: rules become
 * closures, templates are pre-split, defaults are applied, equal attestor
 * configs share one verification key. Throws only on a spec
 * `validateDocument` would have rejected.
 */
export function compileAgentAttestation(
  spec: AgentAttestationSpec,
  catalog: readonly AttestorDescriptor[],
): CompiledPolicySet {
  const steps = compileAgentAttestationStepwise(spec, catalog);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same compilation, one policy per step: whoever drives it may yield
 * between steps, so a version of thousands of policies (a regex compiles
 * in about 0.1 ms, ten times that while cold) does not hold the event loop
 * for the whole of it. Nothing is shared until the last step returns the set.
 */
export function* compileAgentAttestationStepwise(
  spec: AgentAttestationSpec,
  catalog: readonly AttestorDescriptor[],
): Generator<void, CompiledPolicySet, void> {
  const byType = new Map(catalog.map((descriptor) => [descriptor.type, descriptor]));
  const operands: OperandCache = new Map();
  const verificationKeys = new Map<string, string>();
  const policies: CompiledPolicy[] = [];
  for (const policy of spec.policies) {
    policies.push(Object.freeze(compilePolicy(policy, byType, operands, verificationKeys)));
    yield;
  }
  Object.freeze(policies);
  return Object.freeze({ policies, candidatesFor: candidateIndex(policies) });
}

function compilePolicy(
  policy: PolicySpec,
  byType: ReadonlyMap<string, AttestorDescriptor>,
  operands: OperandCache,
  verificationKeys: Map<string, string>,
): CompiledPolicy {
  const requiredAttestors = policy.requiredAttestors.map(({ type, config = {} }) =>
    Object.freeze({ type, config, verificationKey: verificationKeyOf(type, config, verificationKeys) }),
  );
  const requiredTypes = requiredAttestors.map((attestor) => attestor.type);
  const [firstType] = requiredTypes;
  if (firstType === undefined) throw new Error(`policy ${policy.name}: no required attestor was not validated`);
  const templateText = policy.spiffeIdTemplate ?? byType.get(firstType)?.defaultSpiffeIdPath;
  if (templateText === undefined) throw new Error(`policy ${policy.name}: unknown attestor ${firstType}`);
  const template = parseTemplate(templateText);
  if (!template.ok) throw new Error(`policy ${policy.name}: template ${templateText} ${template.problems.join('; ')}`);
  const svidTtlSeconds = tryParseDuration(policy.svidTtl ?? DEFAULT_SVID_TTL);
  if (svidTtlSeconds === undefined)
    throw new Error(`policy ${policy.name}: svidTtl ${policy.svidTtl} was not validated`);

  return {
    name: policy.name,
    requiredAttestors: Object.freeze(requiredAttestors),
    requiredTypes: Object.freeze(requiredTypes),
    svidTtlSeconds,
    tofu: policy.tofu ?? true,
    evaluate: compileRules(policy, operands),
    renderSpiffeIdPath: compileTemplate(template.template),
  };
}

/** Short keys (`aws_iid#0`, `aws_iid#1`) numbered by content, so a login compares no config text. */
function verificationKeyOf(type: string, config: unknown, keys: Map<string, string>): string {
  const content = `${type}\u0000${JSON.stringify(config)}`;
  let key = keys.get(content);
  if (key === undefined) {
    key = `${type}#${keys.size}`;
    keys.set(content, key);
  }
  return key;
}

function compileRules(policy: PolicySpec, operands: OperandCache): (attributes: Attributes) => Decision {
  const rules = policy.rules ?? [];
  const predicates: RulePredicate[] = rules.map((rule) => compileRule(rule, operands));
  // one frozen failure per rule, described once, so a denial allocates nothing
  const failures: Decision[] = rules.map((rule, i) =>
    Object.freeze({ holds: false, failed: `rule ${i + 1} (${describeRule(rule)}) does not hold` }),
  );
  return (attributes) => {
    // an index loop, not for...of, on the login path; failures has one entry per predicate
    for (let i = 0; i < predicates.length; i++) {
      if (!predicates[i]!(attributes)) return failures[i]!;
    }
    return HOLDS;
  };
}
