import { policyAttributeNames } from '../attribute-names';
import type { SchemaError } from '../schemas/schema-validator';
import type { RuleSpec } from '../spec-types';
import { builtInDescriptors } from '@libs/attestors/catalog';
import { validateRule } from './validate-rule';

const builtIns = builtInDescriptors();

const names = policyAttributeNames(['aws_iid', 'k8s_psat'], builtIns);

function problems(rule: RuleSpec): Omit<SchemaError, 'at'>[] {
  const errors: SchemaError[] = [];
  validateRule(rule, '/r', names, errors);
  return errors.map(({ path, message }) => ({ path, message }));
}

describe('validateRule', () => {
  it.each<RuleSpec>([
    { attribute: 'aws_iid.ec2.instance.tag.env', in: ['prod'] },
    { attribute: 'aws_iid.iam.role', glob: 'arn:*', every: true },
    { attribute: 'aws_iid.iam.role', regex: '^arn:' },
    { attribute: 'aws_iid.ec2.instance.private_ip', cidr: 'fd00::/8' },
    { attribute: 'k8s_psat.node.name', equalsAttribute: 'aws_iid.ec2.instance.private_dns_name' },
    { attribute: 'k8s_psat.node.uid', exists: false },
    { not: { anyOf: [{ allOf: [{ attribute: 'aws_iid.account.id', equals: '111111111111' }] }] } },
  ])('accepts %j', (rule) => expect(problems(rule)).toEqual([]));

  it('rejects a rule without an operator', () => {
    expect(problems({ attribute: 'aws_iid.account.id' })).toEqual([
      { path: '/r', message: expect.stringMatching(/^must have one operator: equals, in/) },
    ]);
  });

  it('rejects a rule with two operators', () => {
    expect(problems({ attribute: 'aws_iid.account.id', equals: 'x', glob: 'y' })).toEqual([
      { path: '/r', message: 'has several operators (equals, glob); combine rules with allOf' },
    ]);
  });

  it('rejects a value rule without an attribute', () => {
    expect(problems({ equals: 'x' })).toEqual([{ path: '/r', message: 'equals needs an attribute' }]);
  });

  it('rejects an unknown attribute name at its own path', () => {
    expect(problems({ attribute: 'aws_iid.ec2.instance.tags.env', equals: 'x' })).toEqual([
      { path: '/r/attribute', message: 'unknown attribute aws_iid.ec2.instance.tags.env: aws_iid does not emit it' },
    ]);
  });

  it('rejects an attribute of an attestor the policy does not require', () => {
    expect(problems({ attribute: 'azure_msi.vm.name', exists: true })).toEqual([
      {
        path: '/r/attribute',
        message: 'attribute azure_msi.vm.name belongs to azure_msi, which this policy does not require',
      },
    ]);
  });

  it('rejects an unknown equalsAttribute name', () => {
    expect(problems({ attribute: 'k8s_psat.node.name', equalsAttribute: 'aws_iid.private_dns_name' })).toEqual([
      { path: '/r/equalsAttribute', message: 'unknown attribute aws_iid.private_dns_name: aws_iid does not emit it' },
    ]);
  });

  it('rejects an invalid regex at the regex key', () => {
    expect(problems({ attribute: 'aws_iid.iam.role', regex: '[a-' })).toEqual([
      { path: '/r/regex', message: expect.stringMatching(/^invalid regular expression/) },
    ]);
  });

  it('rejects an invalid cidr at the cidr key', () => {
    expect(problems({ attribute: 'aws_iid.ec2.instance.private_ip', cidr: '10.0.0.0/40' })).toEqual([
      { path: '/r/cidr', message: 'IPv4 prefix length must be at most 32' },
    ]);
  });

  it('rejects every on exists', () => {
    expect(problems({ attribute: 'aws_iid.iam.role', exists: true, every: true })).toEqual([
      { path: '/r/every', message: 'every applies to equals, in, glob, regex and cidr only' },
    ]);
  });

  it('rejects every on equalsAttribute', () => {
    expect(
      problems({ attribute: 'k8s_psat.node.name', equalsAttribute: 'aws_iid.iam.role', every: true })[0]?.path,
    ).toBe('/r/every');
  });

  it('rejects attribute and every beside a logic operator', () => {
    expect(
      problems({ attribute: 'aws_iid.iam.role', every: true, not: { attribute: 'aws_iid.iam.role', exists: true } }),
    ).toEqual([
      { path: '/r/attribute', message: 'not allowed with not' },
      { path: '/r/every', message: 'not allowed with not' },
    ]);
  });

  it('reports problems inside nested rules with their full path', () => {
    expect(
      problems({
        allOf: [{ attribute: 'aws_iid.iam.role', exists: true }, { not: { attribute: 'nope.x', equals: 'y' } }],
      }),
    ).toEqual([
      {
        path: '/r/allOf/1/not/attribute',
        message: 'unknown attribute nope.x: names start with one of aws_iid, k8s_psat',
      },
    ]);
  });

  it('collects every problem of a list', () => {
    expect(
      problems({ anyOf: [{ equals: 'x' }, { attribute: 'aws_iid.iam.role', regex: '(' }] }).map((p) => p.path),
    ).toEqual(['/r/anyOf/0', '/r/anyOf/1/regex']);
  });
});
