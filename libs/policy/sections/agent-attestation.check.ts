import type { AttestorDescriptor } from '@libs/attestors/attestor';
import { policyAttributeNames } from '../attribute-names';
import { formatDuration, tryParseDuration } from '../duration';
import { joinPointer } from '../json-pointer';
import { validateRule } from '../rules/validate-rule';
import { attestorConfigCheck, type SchemaError } from '../schemas/schema-validator';
import type { SchemaVerdict } from '../schemas/schema-verdict';
import { templateProblems } from '../spiffe-id/template';
import { templateCollisionWarning } from '../spiffe-id/template-warnings';
import type { AgentAttestationSpec, PolicySpec } from '../spec-types';

export const MIN_SVID_TTL_SECONDS = 5 * 60;
export const MAX_SVID_TTL_SECONDS = 24 * 3600;
export const DEFAULT_SVID_TTL = '1h';

/**
 * What the AgentAttestation schema cannot say: unique names, attestor types
 * and their `config` against the catalog, rules, templates, TTL bounds.
 * Parts the schema already rejected are skipped: their shape is unknown, and
 * their schema errors stand.
 */
export function checkAgentAttestation(
  spec: AgentAttestationSpec,
  catalog: readonly AttestorDescriptor[],
  verdict: SchemaVerdict,
): SchemaError[] {
  const errors: SchemaError[] = [];
  const firstByName = new Map<string, number>();
  spec.policies.forEach((policy, i) => {
    const path = joinPointer('/spec/policies', i);
    if (!verdict.shaped(path)) return;
    if (verdict.holds(joinPointer(path, 'name'))) {
      const first = firstByName.get(policy.name);
      if (first === undefined) firstByName.set(policy.name, i);
      else
        errors.push({
          path: joinPointer(path, 'name'),
          message: `duplicate policy name ${policy.name} (also /spec/policies/${first})`,
          at: 'value',
        });
    }
    checkPolicy(policy, path, catalog, verdict, errors);
  });
  return errors;
}

function checkPolicy(
  policy: PolicySpec,
  path: string,
  catalog: readonly AttestorDescriptor[],
  verdict: SchemaVerdict,
  errors: SchemaError[],
): void {
  checkSvidTtl(policy, joinPointer(path, 'svidTtl'), verdict, errors);
  const typesKnown = checkRequiredAttestors(policy, path, catalog, verdict, errors);
  // Attribute names are checked against the required attestors: with an
  // unknown type among them, every name would look wrong for the same reason.
  if (typesKnown) checkAttributeUses(policy, path, catalog, verdict, errors);
}

function checkSvidTtl(policy: PolicySpec, path: string, verdict: SchemaVerdict, errors: SchemaError[]): void {
  if (policy.svidTtl === undefined || !verdict.holds(path)) return;
  const seconds = tryParseDuration(policy.svidTtl);
  if (seconds === undefined) {
    errors.push({ path, message: 'must be a duration such as 90s, 5m, 1h', at: 'value' });
  } else if (seconds < MIN_SVID_TTL_SECONDS || seconds > MAX_SVID_TTL_SECONDS) {
    const bounds = `${formatDuration(MIN_SVID_TTL_SECONDS)} and ${formatDuration(MAX_SVID_TTL_SECONDS)}`;
    errors.push({ path, message: `must be between ${bounds}`, at: 'value' });
  }
}

/** Types against the catalog, each once, and each `config` against its schema. True when every type is known. */
function checkRequiredAttestors(
  policy: PolicySpec,
  path: string,
  catalog: readonly AttestorDescriptor[],
  verdict: SchemaVerdict,
  errors: SchemaError[],
): boolean {
  const listPath = joinPointer(path, 'requiredAttestors');
  if (!verdict.shaped(listPath)) return false;
  const byType = new Map(catalog.map((descriptor) => [descriptor.type, descriptor]));
  const seen = new Set<string>();
  let typesKnown = verdict.holds(listPath);
  policy.requiredAttestors.forEach((attestor, j) => {
    const attestorPath = joinPointer(listPath, j);
    const typePath = joinPointer(attestorPath, 'type');
    if (!verdict.shaped(attestorPath) || !verdict.holds(typePath)) return;
    const { type, config } = attestor;
    const descriptor = byType.get(type);
    if (!descriptor) {
      typesKnown = false;
      errors.push({ path: typePath, message: `must be one of ${[...byType.keys()].join(', ')}`, at: 'value' });
      return;
    }
    if (seen.has(type)) errors.push({ path: typePath, message: `${type} is required twice`, at: 'value' });
    seen.add(type);
    errors.push(...attestorConfigCheck(descriptor.configSchema)(config ?? {}, joinPointer(attestorPath, 'config')));
  });
  return typesKnown;
}

/** Rule attribute names and template placeholders, against this policy's attestors. */
function checkAttributeUses(
  policy: PolicySpec,
  path: string,
  catalog: readonly AttestorDescriptor[],
  verdict: SchemaVerdict,
  errors: SchemaError[],
): void {
  const types = policy.requiredAttestors.map((attestor) => attestor.type);
  const names = policyAttributeNames(types, catalog);
  const rulesPath = joinPointer(path, 'rules');
  if (policy.rules !== undefined && verdict.shaped(rulesPath)) {
    policy.rules.forEach((rule, k) => {
      const rulePath = joinPointer(rulesPath, k);
      if (verdict.holds(rulePath)) validateRule(rule, rulePath, names, errors);
    });
  }
  const templatePath = joinPointer(path, 'spiffeIdTemplate');
  if (policy.spiffeIdTemplate !== undefined) {
    if (!verdict.holds(templatePath)) return;
    for (const message of templateProblems(policy.spiffeIdTemplate, names))
      errors.push({ path: templatePath, message, at: 'value' });
    return;
  }
  const first = catalog.find((descriptor) => descriptor.type === types[0]);
  for (const problem of first ? templateProblems(first.defaultSpiffeIdPath, names) : []) {
    // a catalog bug, but reported rather than thrown so the push is refused cleanly
    const message = `default SPIFFE ID path of ${types[0]} is unusable: ${problem}`;
    errors.push({ path: joinPointer(path, 'requiredAttestors', 0, 'type'), message, at: 'value' });
  }
}

/**
 * Warnings on a valid AgentAttestation spec: each explicit SPIFFE ID
 * template that two nodes can render alike on purpose. Default paths come
 * from the catalog and always name one node or `{{agent.uuid}}`.
 */
export function warnAgentAttestation(
  spec: AgentAttestationSpec,
  catalog: readonly AttestorDescriptor[],
): SchemaError[] {
  return spec.policies.flatMap((policy, i) => {
    if (policy.spiffeIdTemplate === undefined) return [];
    const names = policyAttributeNames(
      policy.requiredAttestors.map((attestor) => attestor.type),
      catalog,
    );
    const warning = templateCollisionWarning(policy.spiffeIdTemplate, names);
    return warning === undefined
      ? []
      : [{ path: joinPointer('/spec/policies', i, 'spiffeIdTemplate'), message: warning, at: 'value' as const }];
  });
}
