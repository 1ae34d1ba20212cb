import { matchesAttributePattern, policyAttributeNames } from './attribute-names';
import { builtInDescriptors } from '@libs/attestors/catalog';

const builtIns = builtInDescriptors();

describe('matchesAttributePattern', () => {
  it('matches exact names', () => expect(matchesAttributePattern('ec2.instance.id', 'ec2.instance.id')).toBe(true));
  it('lets * stand for one segment', () =>
    expect(matchesAttributePattern('ec2.instance.tag.env', 'ec2.instance.tag.*')).toBe(true));
  it('lets a trailing * take the rest of the name, dots included (kubernetes.io/role)', () =>
    expect(matchesAttributePattern('ec2.instance.tag.kubernetes.io/role', 'ec2.instance.tag.*')).toBe(true));
  it('does not let a * inside a pattern stand for two segments', () =>
    expect(matchesAttributePattern('a.b.c.d', 'a.*.d')).toBe(false));
  it('does not let * stand for an empty segment', () =>
    expect(matchesAttributePattern('ec2.instance.tag.', 'ec2.instance.tag.*')).toBe(false));
});

describe('policyAttributeNames', () => {
  const names = policyAttributeNames(['aws_iam', 'k8s_psat'], builtIns);

  it('accepts a name the policy attestors emit', () =>
    expect(names.checkRuleAttribute('aws_iam.role.name')).toBeUndefined());
  it('rejects a typo', () => expect(names.checkRuleAttribute('aws_iam.role.nmae')).toMatch(/aws_iam does not emit it/));
  it('rejects a bare attestor name', () => expect(names.checkRuleAttribute('aws_iam')).toMatch(/does not emit it/));
  it('rejects an attestor outside the policy', () =>
    expect(names.checkRuleAttribute('aws_iid.account.id')).toMatch(/does not require/));
  it('rejects an unknown namespace', () =>
    expect(names.checkRuleAttribute('gcp_iit.project')).toMatch(/names start with one of aws_iam, k8s_psat/));
  it('rejects a literal * segment', () => {
    expect(policyAttributeNames(['aws_iid'], builtIns).checkRuleAttribute('aws_iid.ec2.instance.tag.*')).toMatch(
      /free segment/,
    );
  });
  it('accepts a concrete name for a * segment', () => {
    expect(
      policyAttributeNames(['aws_iid'], builtIns).checkRuleAttribute('aws_iid.ec2.instance.tag.env'),
    ).toBeUndefined();
  });
  it('accepts agent.uuid in templates', () => expect(names.checkTemplateAttribute('agent.uuid')).toBeUndefined());
  it('rejects agent.uuid in rules', () => expect(names.checkRuleAttribute('agent.uuid')).toBeDefined());
  it('accepts a single-valued name in templates', () =>
    expect(names.checkTemplateAttribute('k8s_psat.pod.uid')).toBeUndefined());
  it('rejects a multi-valued name in templates', () => {
    expect(policyAttributeNames(['aws_iid'], builtIns).checkTemplateAttribute('aws_iid.ec2.security_group.id')).toMatch(
      /is not single-valued/,
    );
  });
  it('rejects an unknown name in templates', () =>
    expect(names.checkTemplateAttribute('k8s_psat.pod.id')).toMatch(/does not emit it/));
});
