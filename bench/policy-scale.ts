import { ProofRejected, type Attestor, type AttestorDescriptor, type Verified } from '@libs/attestors/attestor';
import { builtInDescriptors } from '@libs/attestors/catalog';
import { AttestorRegistry } from '@libs/attestors/registry';
import { compileAgentAttestation, validateDocument, type AgentAttestationSpec } from '@libs/policy';
import { decide } from '@libs/login/policy-decision';

// Policy scale (issue 15, "Policies"): the per-login cost of choosing among
// 1,000 policies of 10 rules, and what activating such a version costs the
// event loop. CPU time of this thread, not wall time.

const ATTRIBUTES: Record<string, string[]> = {
  'account.id': ['111111111111'],
  'ec2.instance.region': ['us-east-1'],
  'ec2.instance.id': ['i-0a1b2c3d4e5f60001'],
  'ec2.instance.availability_zone': ['us-east-1a'],
  'ec2.instance.image_id': ['ami-0abcdef1234567890'],
  'ec2.instance.type': ['t3.medium'],
  'ec2.instance.private_ip': ['10.0.0.10'],
  'ec2.instance.tag.env': ['prod'],
  'ec2.instance.tag.team': ['team-999'],
  'ec2.security_group.name': ['default', 'web'],
};

const TYPES = ['aws_iid', 'aws_iam', 'join_token', 'aws_iam'] as const;

/** `count` policies of 10 rules; the last is the one the bench node matches. `mixed`: half aws_iid, half aws_iam or join_token. */
export function policyDocument(count: number, mixed: boolean): string {
  const lines = ['section: AgentAttestation', 'schema: v1', 'spec:', '  policies:'];
  for (let i = 0; i < count; i++) {
    const type = mixed && i < count - 1 ? TYPES[i % TYPES.length]! : 'aws_iid';
    lines.push(
      `    - name: p${i}`,
      `      requiredAttestors: [{ type: ${type}${type === 'aws_iid' && i % 100 === 0 ? `, config: { awsAccountsAllowed: ["${String(100000000000 + i)}"] }` : ''} }]`,
      '      rules:',
    );
    if (type !== 'aws_iid') {
      for (let r = 0; r < 10; r++)
        lines.push(
          `        - { attribute: ${type}.${type === 'join_token' ? 'id' : 'role.name'}, equals: "v${r}-${i}" }`,
        );
      continue;
    }
    const rules = [
      '{ attribute: aws_iid.account.id, equals: "111111111111" }',
      '{ attribute: aws_iid.ec2.instance.region, equals: us-east-1 }',
      '{ attribute: aws_iid.ec2.instance.tag.env, equals: prod }',
      '{ attribute: aws_iid.ec2.instance.type, equals: t3.medium }',
      '{ attribute: aws_iid.ec2.security_group.name, equals: web }',
      '{ attribute: aws_iid.ec2.security_group.name, glob: "w*" }',
      '{ attribute: aws_iid.ec2.instance.image_id, glob: "ami-*" }',
      '{ attribute: aws_iid.ec2.instance.availability_zone, glob: "us-east-1?" }',
      '{ attribute: aws_iid.ec2.instance.id, regex: "^i-[0-9a-f]{17}$" }',
      `{ attribute: aws_iid.ec2.instance.tag.team, equals: team-${i} }`,
    ];
    for (const rule of rules) lines.push(`        - ${rule}`);
  }
  return lines.join('\n');
}

function stubbed(descriptor: AttestorDescriptor): Attestor {
  return {
    ...descriptor,
    verify(): Promise<Verified> {
      if (descriptor.type !== 'aws_iid') return Promise.reject(new ProofRejected(`${descriptor.type}: not this node`));
      return Promise.resolve({ attributes: ATTRIBUTES, selectors: [] });
    },
  };
}

function cpuMs<T>(run: () => T): { value: T; ms: number } {
  const before = process.cpuUsage();
  const value = run();
  const { user, system } = process.cpuUsage(before);
  return { value, ms: (user + system) / 1000 };
}

async function perLoginMs(spec: AgentAttestationSpec, catalog: AttestorDescriptor[], logins: number): Promise<number> {
  const policies = compileAgentAttestation(spec, catalog);
  const registry = new AttestorRegistry(catalog.map(stubbed));
  const proofs = { aws_iid: { document: '{}', signature: 'x' } };
  const once = async () => {
    const decision = await decide(policies.candidatesFor(['aws_iid']), proofs, registry, {
      challenges: {},
      now: new Date(),
    });
    if (decision.kind !== 'authorized')
      throw new Error(`bench: expected the last policy to hold, got ${decision.kind}`);
  };
  for (let i = 0; i < 50; i++) await once();
  const before = process.cpuUsage();
  for (let i = 0; i < logins; i++) await once();
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000 / logins;
}

async function main(): Promise<void> {
  const catalog = builtInDescriptors();
  for (const mixed of [false, true]) {
    const text = policyDocument(1000, mixed);
    const validated = validateDocument('AgentAttestation', text, catalog);
    if (!validated.ok) throw new Error(`bench: invalid: ${JSON.stringify(validated.errors.slice(0, 3))}`);
    const spec = validated.value.spec as AgentAttestationSpec;
    const compiles = [0, 1, 2, 3, 4].map(() => cpuMs(() => compileAgentAttestation(spec, catalog)).ms);
    const perLogin = await perLoginMs(spec, catalog, 300);
    console.log(
      `${mixed ? 'mixed types' : 'all aws_iid'}: activation (compile) ${Math.min(...compiles).toFixed(1)} ms CPU; per login (candidates + decide) ${perLogin.toFixed(3)} ms CPU`,
    );
  }
}

if (require.main === module) void main();
