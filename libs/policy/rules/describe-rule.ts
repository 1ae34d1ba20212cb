import type { RuleSpec } from '../spec-types';
import { describeValueOperand, isValueOperator, operatorsOf } from './operators';

/** Enough to recognise the rule in a log line or audit event, never a whole allow-list. */
const MAX_DESCRIPTION = 300;

/**
 * A rule in operator words, as it reads in the document:
 * `k8s_psat.node.name equalsAttribute aws_iid.ec2.instance.private_dns_name`.
 * Computed once at compile time; `failed` reasons reuse it.
 */
export function describeRule(rule: RuleSpec): string {
  const text = describe(rule);
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 3)}...` : text;
}

function describe(rule: RuleSpec): string {
  const [operator] = operatorsOf(rule);
  if (operator === undefined) return 'empty rule';
  // Value operators share one branch, as in compileRule.
  if (isValueOperator(operator)) {
    return `${rule.every === true ? 'every value of ' : ''}${rule.attribute} ${operator} ${describeValueOperand(operator, rule)}`;
  }
  switch (operator) {
    case 'not':
      return `not (${describe(rule.not as RuleSpec)})`;
    case 'allOf':
    case 'anyOf':
      return `${operator} (${(rule[operator] as RuleSpec[]).map(describe).join(', ')})`;
    case 'exists':
      return `${rule.attribute} exists ${rule.exists}`;
    case 'equalsAttribute':
      return `${rule.attribute} equalsAttribute ${rule.equalsAttribute}`;
  }
}
