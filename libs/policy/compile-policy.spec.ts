import { compileAgentAttestation, validateDocument, type AgentAttestationSpec } from './index';
import { builtInDescriptors } from '@libs/attestors/catalog';

const builtIns = builtInDescriptors();

function compile(yamlPolicies: string) {
  const result = validateDocument(
    'AgentAttestation',
    `section: AgentAttestation\nschema: v1\nspec:\n  policies:\n${yamlPolicies}`,
    builtIns,
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return compileAgentAttestation(result.value.spec, builtIns);
}

const example = compile(`
    - name: web_prod
      requiredAttestors:
        - { type: aws_iid, config: { awsAccountsAllowed: ["111111111111"] } }
        - { type: k8s_psat, config: { clusters: [web] } }
      rules:
        - { attribute: aws_iid.ec2.instance.tag.env, in: [prod] }
        - { attribute: k8s_psat.node.name, equalsAttribute: aws_iid.ec2.instance.private_dns_name }
      spiffeIdTemplate: /web/{{aws_iid.ec2.instance.region}}/{{aws_iid.ec2.instance.id}}
      svidTtl: 90m
      tofu: false
    - name: ec2
      requiredAttestors: [{ type: aws_iid }]
    - name: join
      requiredAttestors: [{ type: join_token }]
    - name: lambda
      requiredAttestors: [{ type: aws_iam }]
`);
type Policy = (typeof example.policies)[number];
// the document above has these four policies, in this order
const [webProd, ec2, join, lambda] = example.policies as [Policy, Policy, Policy, Policy];

const goodMachine = {
  'aws_iid.ec2.instance.tag.env': ['prod'],
  'aws_iid.ec2.instance.private_dns_name': ['ip-10-0-0-1.ec2.internal'],
  'k8s_psat.node.name': ['ip-10-0-0-1.ec2.internal'],
  'aws_iid.ec2.instance.region': ['us-east-1'],
  'aws_iid.ec2.instance.id': ['i-0abc'],
  'aws_iid.account.id': ['111111111111'],
};

describe('compileAgentAttestation', () => {
  it('keeps the policy settings', () => {
    expect(webProd).toMatchObject({
      name: 'web_prod',
      requiredTypes: ['aws_iid', 'k8s_psat'],
      requiredAttestors: [
        { type: 'aws_iid', config: { awsAccountsAllowed: ['111111111111'] } },
        { type: 'k8s_psat', config: { clusters: ['web'] } },
      ],
      svidTtlSeconds: 5400,
      tofu: false,
    });
  });

  it('applies the defaults: svidTtl 1h, tofu true, config {}', () => {
    expect(ec2).toMatchObject({
      svidTtlSeconds: 3600,
      tofu: true,
      requiredAttestors: [{ type: 'aws_iid', config: {} }],
    });
  });

  it('holds when every rule holds', () => expect(webProd.evaluate(goodMachine)).toEqual({ holds: true }));

  it('holds without rules', () => expect(join.evaluate({})).toEqual({ holds: true }));

  it('names the first rule that does not hold, in operator words', () => {
    expect(webProd.evaluate({ ...goodMachine, 'k8s_psat.node.name': ['other'] })).toEqual({
      holds: false,
      failed: 'rule 2 (k8s_psat.node.name equalsAttribute aws_iid.ec2.instance.private_dns_name) does not hold',
    });
  });

  it('reports rule 1 when both fail', () => {
    expect(webProd.evaluate({}).failed).toBe('rule 1 (aws_iid.ec2.instance.tag.env in ["prod"]) does not hold');
  });

  it('allocates no decision per evaluation', () => {
    expect(webProd.evaluate(goodMachine)).toBe(webProd.evaluate(goodMachine));
    expect(webProd.evaluate({})).toBe(webProd.evaluate({}));
  });

  it('renders the policy template', () => {
    expect(webProd.renderSpiffeIdPath(goodMachine, 'u')).toEqual({ ok: true, path: '/web/us-east-1/i-0abc' });
  });

  it('renders the first attestor default path without a template', () => {
    expect(ec2.renderSpiffeIdPath(goodMachine, 'u')).toEqual({
      ok: true,
      path: '/agent/aws_iid/111111111111/us-east-1/i-0abc',
    });
  });

  it('renders {{agent.uuid}} in a default path', () => {
    const attributes = { 'aws_iam.account.id': ['111111111111'], 'aws_iam.role.name': ['fn'] };
    expect(lambda.renderSpiffeIdPath(attributes, '3f0e')).toEqual({
      ok: true,
      path: '/agent/aws_iam/111111111111/fn/3f0e',
    });
  });

  it('refuses to render a value outside the alphabet, naming the attribute', () => {
    expect(ec2.renderSpiffeIdPath({ ...goodMachine, 'aws_iid.ec2.instance.id': ['i 0abc'] }, 'u')).toEqual({
      ok: false,
      reason: expect.stringContaining('aws_iid.ec2.instance.id'),
    });
  });

  describe('candidatesFor', () => {
    it('lists the policies whose required types are all provided, in document order', () => {
      expect(example.candidatesFor(['k8s_psat', 'aws_iid', 'join_token']).map((p) => p.name)).toEqual([
        'web_prod',
        'ec2',
        'join',
      ]);
    });
    it('leaves out a policy missing one required type', () => {
      expect(example.candidatesFor(['k8s_psat']).map((p) => p.name)).toEqual([]);
    });
    it('ignores unknown methods', () =>
      expect(example.candidatesFor(['aws_iam', 'gcp']).map((p) => p.name)).toEqual(['lambda']));
  });

  it('throws on a spec validation would have rejected', () => {
    const invalid: AgentAttestationSpec = {
      policies: [
        { name: 'x', requiredAttestors: [{ type: 'join_token' }], rules: [{ attribute: 'join_token.id', regex: '(' }] },
      ],
    };
    expect(() => compileAgentAttestation(invalid, builtIns)).toThrow(/was not validated/);
  });
});
