import { describeRule } from './describe-rule';

describe('describeRule', () => {
  it.each([
    [{ attribute: 'a.b', equals: 'x' }, 'a.b equals "x"'],
    [{ attribute: 'a.b', in: ['x', 'y'] }, 'a.b in ["x", "y"]'],
    [{ attribute: 'a.b', glob: 'x*' }, 'a.b glob "x*"'],
    [{ attribute: 'a.b', regex: '^x' }, 'a.b regex "^x"'],
    [{ attribute: 'a.b', cidr: '10.0.0.0/8', every: true }, 'every value of a.b cidr 10.0.0.0/8'],
    [{ attribute: 'a.b', exists: false }, 'a.b exists false'],
    [
      { attribute: 'k8s_psat.node.name', equalsAttribute: 'aws_iid.ec2.instance.private_dns_name' },
      'k8s_psat.node.name equalsAttribute aws_iid.ec2.instance.private_dns_name',
    ],
    [{ not: { attribute: 'a.b', equals: 'q' } }, 'not (a.b equals "q")'],
    [
      { anyOf: [{ attribute: 'a.b', exists: true }, { allOf: [{ attribute: 'c.d', equals: 'e' }] }] },
      'anyOf (a.b exists true, allOf (c.d equals "e"))',
    ],
  ])('describes %j', (rule, text) => expect(describeRule(rule)).toBe(text));

  it('abbreviates long lists', () => {
    const list = Array.from({ length: 20 }, (_, i) => `v${i}`);
    expect(describeRule({ attribute: 'a.b', in: list })).toBe('a.b in ["v0", "v1", "v2", "v3", "v4", ... 15 more]');
  });

  it('caps the length of a description', () => {
    expect(describeRule({ attribute: 'a.b', equals: 'x'.repeat(1000) })).toHaveLength(300);
  });
});
