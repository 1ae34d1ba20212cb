import { compileCidr, parseCidr } from './cidr';
import { compileGlob, type StringTest } from './glob';
import { compileRegex } from './regex';
import type { RuleSpec } from '../spec-types';

/**
 * A value operator (json-rules-engine's "operator"): validated once at push
 * time, compiled once per version into a test over one attribute value.
 */
export interface ValueOperator<Operand> {
  /** why the operand cannot be used, beyond its JSON type (the schema checked that) */
  check(operand: Operand): string | undefined;
  /** only called on an operand `check` accepted */
  compile(operand: Operand): StringTest;
  describe(operand: Operand): string;
}

const MAX_LISTED = 5;
const quote = (text: string): string => JSON.stringify(text);

export const valueOperators: {
  equals: ValueOperator<string>;
  in: ValueOperator<string[]>;
  glob: ValueOperator<string>;
  regex: ValueOperator<string>;
  cidr: ValueOperator<string>;
} = {
  equals: {
    check: () => undefined,
    compile: (expected) => (value) => value === expected,
    describe: quote,
  },
  in: {
    check: () => undefined,
    compile: (list) => {
      const allowed = new Set(list);
      return (value) => allowed.has(value);
    },
    describe: (list) => {
      const shown = list.slice(0, MAX_LISTED).map(quote);
      if (list.length > MAX_LISTED) shown.push(`... ${list.length - MAX_LISTED} more`);
      return `[${shown.join(', ')}]`;
    },
  },
  glob: {
    check: () => undefined,
    compile: compileGlob,
    describe: quote,
  },
  regex: {
    check: (pattern) => {
      const compiled = compileRegex(pattern);
      return compiled.ok ? undefined : compiled.problem;
    },
    compile: (pattern) => {
      const compiled = compileRegex(pattern);
      if (!compiled.ok) throw new Error(`policy: regex ${quote(pattern)} was not validated: ${compiled.problem}`);
      return compiled.test;
    },
    describe: quote,
  },
  cidr: {
    check: (text) => {
      const parsed = parseCidr(text);
      return parsed.ok ? undefined : parsed.problem;
    },
    compile: (text) => {
      const parsed = parseCidr(text);
      if (!parsed.ok) throw new Error(`policy: cidr ${quote(text)} was not validated: ${parsed.problem}`);
      return compileCidr(parsed.block);
    },
    describe: (text) => text,
  },
};

export type ValueOperatorName = keyof typeof valueOperators;
export const VALUE_OPERATOR_NAMES = Object.keys(valueOperators) as ValueOperatorName[];
export const LOGIC_OPERATOR_NAMES = ['not', 'allOf', 'anyOf'] as const;
/** Every key that makes a rule what it is; a rule has exactly one. */
export const OPERATOR_NAMES = [...VALUE_OPERATOR_NAMES, 'exists', 'equalsAttribute', ...LOGIC_OPERATOR_NAMES] as const;
export type OperatorName = (typeof OPERATOR_NAMES)[number];

export function operatorsOf(rule: RuleSpec): OperatorName[] {
  return OPERATOR_NAMES.filter((name) => rule[name] !== undefined);
}

export function isValueOperator(name: OperatorName): name is ValueOperatorName {
  return Object.hasOwn(valueOperators, name);
}

/** The operator's check, with the operand type recovered from the name. */
export function checkValueOperand(name: ValueOperatorName, rule: RuleSpec): string | undefined {
  return name === 'in' ? valueOperators.in.check(rule.in ?? []) : valueOperators[name].check(rule[name] ?? '');
}

export function compileValueOperand(name: ValueOperatorName, rule: RuleSpec): StringTest {
  return name === 'in' ? valueOperators.in.compile(rule.in ?? []) : valueOperators[name].compile(rule[name] ?? '');
}

export function describeValueOperand(name: ValueOperatorName, rule: RuleSpec): string {
  return name === 'in' ? valueOperators.in.describe(rule.in ?? []) : valueOperators[name].describe(rule[name] ?? '');
}
