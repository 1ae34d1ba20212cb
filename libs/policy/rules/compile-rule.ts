import type { Attributes } from '@libs/attestors/attestor';
import type { RuleSpec } from '../spec-types';
import type { StringTest } from './glob';
import { compileValueOperand, isValueOperator, operatorsOf, type ValueOperatorName } from './operators';

/** A compiled rule: a closure over precompiled operands, run once per login and policy. */
export type RulePredicate = (attributes: Attributes) => boolean;

// The values of one attribute. Input comes from verified proofs, but a
// predicate must not throw on any map, so anything but an array is "absent".
function valuesOf(attributes: Attributes, name: string): readonly unknown[] | undefined {
  const values = attributes[name];
  return Array.isArray(values) && values.length > 0 ? values : undefined;
}

/**
 * Value tests already compiled in this version, by operator and operand: a
 * regex costs about 0.1 ms to compile, and a thousand policies often repeat
 * the same few patterns.
 */
export type OperandCache = Map<string, StringTest>;

/** Compiles a rule that `validateRule` accepted; throws on one it would not have. */
export function compileRule(rule: RuleSpec, operands: OperandCache = new Map()): RulePredicate {
  const [operator] = operatorsOf(rule);
  if (operator === undefined) throw new Error('policy: a rule without an operator was not validated');
  // Value operators are one table (operators.ts), so they share one branch;
  // the switch then names every other operator and lint checks it does.
  if (isValueOperator(operator)) {
    const test = cachedOperand(operator, rule, operands);
    return rule.every === true ? everyValue(attributeOf(rule), test) : someValue(attributeOf(rule), test);
  }
  switch (operator) {
    case 'not': {
      const inner = compileRule(rule.not as RuleSpec, operands);
      return (attributes) => !inner(attributes);
    }
    case 'allOf': {
      const parts = (rule.allOf as RuleSpec[]).map((part) => compileRule(part, operands));
      return (attributes) => {
        for (let i = 0; i < parts.length; i++) if (!parts[i]!(attributes)) return false;
        return true;
      };
    }
    case 'anyOf': {
      const parts = (rule.anyOf as RuleSpec[]).map((part) => compileRule(part, operands));
      return (attributes) => {
        for (let i = 0; i < parts.length; i++) if (parts[i]!(attributes)) return true;
        return false;
      };
    }
    case 'exists': {
      const name = attributeOf(rule);
      const wanted = rule.exists === true;
      return (attributes) => (valuesOf(attributes, name) !== undefined) === wanted;
    }
    case 'equalsAttribute':
      return sharesValue(attributeOf(rule), rule.equalsAttribute as string);
  }
}

function cachedOperand(operator: ValueOperatorName, rule: RuleSpec, operands: OperandCache): StringTest {
  const key = `${operator}\u0000${JSON.stringify(rule[operator])}`;
  let test = operands.get(key);
  if (!test) {
    test = compileValueOperand(operator, rule);
    operands.set(key, test);
  }
  return test;
}

function attributeOf(rule: RuleSpec): string {
  if (rule.attribute === undefined) throw new Error('policy: a value rule without an attribute was not validated');
  return rule.attribute;
}

function someValue(name: string, test: StringTest): RulePredicate {
  return (attributes) => {
    const values = valuesOf(attributes, name);
    if (values === undefined) return false;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value === 'string' && test(value)) return true;
    }
    return false;
  };
}

/** `every: true`: at least one value, and no value that fails. */
function everyValue(name: string, test: StringTest): RulePredicate {
  return (attributes) => {
    const values = valuesOf(attributes, name);
    if (values === undefined) return false;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value !== 'string' || !test(value)) return false;
    }
    return true;
  };
}

function sharesValue(left: string, right: string): RulePredicate {
  return (attributes) => {
    const a = valuesOf(attributes, left);
    const b = valuesOf(attributes, right);
    if (a === undefined || b === undefined) return false;
    // value lists are short (a handful of groups or roles): the nested loop beats building a Set
    for (let i = 0; i < a.length; i++) {
      if (typeof a[i] !== 'string') continue;
      for (let j = 0; j < b.length; j++) if (a[i] === b[j]) return true;
    }
    return false;
  };
}
