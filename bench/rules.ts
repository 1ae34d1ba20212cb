import { Engine } from 'json-rules-engine';
import { builtInDescriptors } from '@libs/attestors/catalog';
import { compileAgentAttestation, validateDocument } from '@libs/policy';

// Compiled rule evaluation (libs/policy) against json-rules-engine on the
// same 10 rules and the same attributes (every attribute a list of values,
// "some value ..." semantics on both sides: json-rules-engine's someFact
// decorator).

const ATTRIBUTES: Record<string, string[]> = {
  'aws_iid.account.id': ['111111111111'],
  'aws_iid.ec2.instance.region': ['us-east-1'],
  'aws_iid.ec2.instance.id': ['i-0a1b2c3d4e5f60001'],
  'aws_iid.ec2.instance.availability_zone': ['us-east-1a'],
  'aws_iid.ec2.instance.image_id': ['ami-0abcdef1234567890'],
  'aws_iid.ec2.instance.type': ['t3.medium'],
  'aws_iid.ec2.instance.private_ip': ['10.0.0.10'],
  'aws_iid.ec2.instance.tag.env': ['prod'],
  'aws_iid.ec2.instance.tag.team': ['payments'],
  'aws_iid.ec2.security_group.name': ['default', 'web'],
};

const POLICY = `
section: AgentAttestation
schema: v1
spec:
  policies:
    - name: ten_rules
      requiredAttestors: [{ type: aws_iid }]
      rules:
        - { attribute: aws_iid.account.id, equals: "111111111111" }
        - { attribute: aws_iid.ec2.instance.region, in: [us-east-1, us-west-2] }
        - { attribute: aws_iid.ec2.instance.tag.env, in: [prod, staging] }
        - { attribute: aws_iid.ec2.instance.type, equals: t3.medium }
        - { attribute: aws_iid.ec2.security_group.name, equals: web }
        - not: { attribute: aws_iid.ec2.security_group.name, equals: quarantine }
        - { attribute: aws_iid.ec2.instance.image_id, glob: "ami-*" }
        - { attribute: aws_iid.ec2.instance.availability_zone, in: [us-east-1a, us-east-1b] }
        - { attribute: aws_iid.ec2.instance.tag.team, equals: payments }
        - { attribute: aws_iid.ec2.instance.id, regex: "^i-[0-9a-f]{17}$" }
`;

function jsonRulesEngine(): Engine {
  const engine = new Engine([], { allowUndefinedFacts: true });
  engine.addOperator('matches', (value: string, pattern: string) => new RegExp(pattern).test(value));
  const fact = (name: string) => `aws_iid.${name}`;
  engine.addRule({
    conditions: {
      all: [
        { fact: fact('account.id'), operator: 'someFact:equal', value: '111111111111' },
        { fact: fact('ec2.instance.region'), operator: 'someFact:in', value: ['us-east-1', 'us-west-2'] },
        { fact: fact('ec2.instance.tag.env'), operator: 'someFact:in', value: ['prod', 'staging'] },
        { fact: fact('ec2.instance.type'), operator: 'someFact:equal', value: 't3.medium' },
        { fact: fact('ec2.security_group.name'), operator: 'contains', value: 'web' },
        { fact: fact('ec2.security_group.name'), operator: 'doesNotContain', value: 'quarantine' },
        { fact: fact('ec2.instance.image_id'), operator: 'someFact:matches', value: '^ami-' },
        { fact: fact('ec2.instance.availability_zone'), operator: 'someFact:in', value: ['us-east-1a', 'us-east-1b'] },
        { fact: fact('ec2.instance.tag.team'), operator: 'someFact:equal', value: 'payments' },
        { fact: fact('ec2.instance.id'), operator: 'someFact:matches', value: '^i-[0-9a-f]{17}$' },
      ],
    },
    event: { type: 'holds' },
  });
  return engine;
}

export interface RuleComparison {
  compiledPerSecond: number;
  jsonRulesEnginePerSecond: number;
  ratio: number;
}

export async function compareRuleEngines(seconds: number): Promise<RuleComparison> {
  const catalog = builtInDescriptors();
  const validated = validateDocument('AgentAttestation', POLICY, catalog);
  if (!validated.ok) throw new Error(`bench: rules policy invalid: ${JSON.stringify(validated.errors)}`);
  const policy = compileAgentAttestation(validated.value.spec, catalog).policies[0]!;
  if (!policy.evaluate(ATTRIBUTES).holds)
    throw new Error('bench: the compiled rules do not hold on the bench attributes');
  const engine = jsonRulesEngine();
  const holds = async () => (await engine.run(ATTRIBUTES)).events.length === 1;
  if (!(await holds())) throw new Error('bench: json-rules-engine rules do not hold on the bench attributes');

  const compiledPerSecond = measureSync(() => policy.evaluate(ATTRIBUTES).holds, seconds);
  const jsonRulesEnginePerSecond = await measureAsync(holds, seconds);
  return { compiledPerSecond, jsonRulesEnginePerSecond, ratio: compiledPerSecond / jsonRulesEnginePerSecond };
}

/** Calls per second of `fn` over about `seconds` (after a short warm-up); throws if it ever returns false. */
export function measureSync(fn: () => boolean, seconds: number): number {
  for (let i = 0; i < 1000; i++) fn();
  let calls = 0;
  const started = process.hrtime.bigint();
  const until = started + BigInt(Math.round(seconds * 1e9));
  let now = started;
  while (now < until) {
    for (let i = 0; i < 100; i++) if (!fn()) throw new Error('bench: measured call failed');
    calls += 100;
    now = process.hrtime.bigint();
  }
  return calls / (Number(now - started) / 1e9);
}

export async function measureAsync(fn: () => Promise<boolean>, seconds: number): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  let calls = 0;
  const started = process.hrtime.bigint();
  const until = started + BigInt(Math.round(seconds * 1e9));
  let now = started;
  while (now < until) {
    for (let i = 0; i < 20; i++) if (!(await fn())) throw new Error('bench: measured call failed');
    calls += 20;
    now = process.hrtime.bigint();
  }
  return calls / (Number(now - started) / 1e9);
}
