import type { PolicyAttributeNames } from '../attribute-names';
import { joinPointer } from '../json-pointer';
import type { SchemaError } from '../schemas/schema-validator';
import type { RuleSpec } from '../spec-types';
import { checkValueOperand, isValueOperator, OPERATOR_NAMES, operatorsOf } from './operators';

/**
 * The checks JSON Schema cannot express clearly: one operator per rule, the
 * keys that go with it, attribute names the policy's attestors emit, and
 * operands that compile (regex, CIDR). Appends every problem found.
 */
export function validateRule(rule: RuleSpec, path: string, names: PolicyAttributeNames, errors: SchemaError[]): void {
  const report = (at: string, message: string, which: 'key' | 'value' = 'value') =>
    errors.push({ path: at, message, at: which });
  const operators = operatorsOf(rule);
  const [operator] = operators;
  if (operator === undefined) {
    report(path, `must have one operator: ${OPERATOR_NAMES.join(', ')}`);
    return;
  }
  if (operators.length > 1) {
    report(path, `has several operators (${operators.join(', ')}); combine rules with allOf`);
    return;
  }

  if (operator === 'not' || operator === 'allOf' || operator === 'anyOf') {
    for (const key of ['attribute', 'every'] as const) {
      if (rule[key] !== undefined) report(joinPointer(path, key), `not allowed with ${operator}`, 'key');
    }
    if (rule.not) validateRule(rule.not, joinPointer(path, 'not'), names, errors);
    const children = rule.allOf ?? rule.anyOf ?? [];
    children.forEach((child, i) => validateRule(child, joinPointer(path, operator, i), names, errors));
    return;
  }

  if (rule.attribute === undefined) {
    report(path, `${operator} needs an attribute`);
  } else {
    const problem = names.checkRuleAttribute(rule.attribute);
    if (problem) report(joinPointer(path, 'attribute'), problem);
  }
  if (operator === 'equalsAttribute' && rule.equalsAttribute !== undefined) {
    const problem = names.checkRuleAttribute(rule.equalsAttribute);
    if (problem) report(joinPointer(path, 'equalsAttribute'), problem);
  }
  if (isValueOperator(operator)) {
    const problem = checkValueOperand(operator, rule);
    if (problem) report(joinPointer(path, operator), problem);
  } else if (rule.every !== undefined) {
    report(joinPointer(path, 'every'), 'every applies to equals, in, glob, regex and cidr only', 'key');
  }
}
