import type { Attributes } from '@libs/attestors/attestor';
import { policyAttributeNames } from '../attribute-names';
import { builtInDescriptors } from '@libs/attestors/catalog';
import { compileTemplate, parseTemplate, templateProblems } from './template';
import { MAX_PATH_LENGTH } from './spiffe-id';

const builtIns = builtInDescriptors();

const names = policyAttributeNames(['aws_iid', 'aws_iam'], builtIns);

function render(template: string, attributes: Attributes, uuid = '6f1c3a4e-8d2b-4c1e-9f0a-2b3c4d5e6f70') {
  const parsed = parseTemplate(template);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return compileTemplate(parsed.template)(attributes, uuid);
}

const iid = { 'aws_iid.ec2.instance.region': ['us-east-1'], 'aws_iid.ec2.instance.id': ['i-0abc'] };

describe('templateProblems', () => {
  it('accepts single-valued attributes of the policy attestors', () => {
    expect(templateProblems('/web/{{aws_iid.ec2.instance.region}}/{{aws_iid.ec2.instance.id}}', names)).toEqual([]);
  });
  it('accepts {{agent.uuid}}', () =>
    expect(templateProblems('/fargate/{{aws_iam.role.name}}/{{agent.uuid}}', names)).toEqual([]));
  it('accepts several placeholders and text in one segment', () => {
    expect(templateProblems('/n/{{aws_iid.ec2.instance.region}}-{{aws_iid.ec2.instance.id}}.node', names)).toEqual([]);
  });
  it('rejects a template without a leading /', () =>
    expect(templateProblems('web/x', names)).toEqual(['must start with /']));
  it('rejects a trailing /', () => expect(templateProblems('/web/', names)).toEqual(['must not end with /']));
  it('rejects an empty segment', () =>
    expect(templateProblems('/web//x', names)).toEqual(['must not have empty path segments (//)']));
  it('rejects a . segment', () =>
    expect(templateProblems('/web/./x', names)).toEqual(['must not have a . path segment']));
  it('rejects a .. segment', () =>
    expect(templateProblems('/web/../x', names)).toEqual(['must not have a .. path segment']));
  it('rejects characters outside the alphabet', () => {
    expect(templateProblems('/web:prod/x', names)).toEqual([expect.stringMatching(/^character ":" is not allowed/)]);
  });
  it('rejects an unclosed placeholder', () =>
    expect(templateProblems('/web/{{aws_iid.ec2.instance.id', names)).toEqual([expect.stringMatching(/not closed/)]));
  it('rejects a single brace', () =>
    expect(templateProblems('/web/{aws_iid.ec2.instance.id}', names)[0]).toMatch(/character "\{"/));
  it('rejects a placeholder with spaces', () =>
    expect(templateProblems('/web/{{ aws_iid.ec2.instance.id }}', names)[0]).toMatch(/must name an attribute/));
  it('rejects an unknown attribute', () => {
    expect(templateProblems('/web/{{aws_iid.ec2.instance.idd}}', names)).toEqual([
      'unknown attribute aws_iid.ec2.instance.idd: aws_iid does not emit it',
    ]);
  });
  it('rejects a multi-valued attribute', () => {
    expect(templateProblems('/web/{{aws_iid.iam.role}}', names)).toEqual([
      expect.stringMatching(/aws_iid.iam.role is not single-valued/),
    ]);
  });
  it('rejects an attribute of an attestor outside the policy', () => {
    expect(templateProblems('/web/{{k8s_psat.pod.uid}}', names)[0]).toMatch(/does not require/);
  });
  it('reports every bad segment', () => expect(templateProblems('/a b/c:d', names)).toHaveLength(2));
});

describe('compileTemplate', () => {
  it('renders placeholders from the attributes', () => {
    expect(render('/web/{{aws_iid.ec2.instance.region}}/{{aws_iid.ec2.instance.id}}', iid)).toEqual({
      ok: true,
      path: '/web/us-east-1/i-0abc',
    });
  });

  it('renders {{agent.uuid}} from the server-assigned UUID', () => {
    expect(render('/lambda/{{agent.uuid}}', {}, 'u-1')).toEqual({ ok: true, path: '/lambda/u-1' });
  });

  it('refuses a value outside the alphabet, naming the attribute', () => {
    const result = render('/web/{{aws_iid.ec2.instance.region}}', { 'aws_iid.ec2.instance.region': ['us east/1'] });
    expect(result).toEqual({
      ok: false,
      reason: expect.stringContaining('aws_iid.ec2.instance.region has characters outside the SPIFFE path alphabet'),
    });
  });

  it('refuses an attribute with several values, naming it', () => {
    expect(render('/x/{{aws_iid.ec2.instance.id}}', { 'aws_iid.ec2.instance.id': ['i-1', 'i-2'] })).toEqual({
      ok: false,
      reason: 'spiffe_id: attribute aws_iid.ec2.instance.id has 2 values, a path needs one',
    });
  });

  it('refuses a missing attribute, naming it', () => {
    expect(render('/x/{{aws_iam.role.name}}', {})).toEqual({
      ok: false,
      reason: 'spiffe_id: attribute aws_iam.role.name has no value',
    });
  });

  it('refuses an empty value', () => {
    expect(render('/x/{{aws_iam.role.name}}', { 'aws_iam.role.name': [''] })).toEqual({
      ok: false,
      reason: 'spiffe_id: aws_iam.role.name is empty',
    });
  });

  it('refuses a segment that renders as ..', () => {
    expect(render('/x/{{aws_iam.role.name}}', { 'aws_iam.role.name': ['..'] })).toEqual({
      ok: false,
      reason: 'spiffe_id: path segment {{aws_iam.role.name}} renders as ".."',
    });
  });

  it('accepts a value with dots inside a longer segment', () => {
    expect(render('/x/{{aws_iam.role.name}}', { 'aws_iam.role.name': ['a..b'] })).toEqual({
      ok: true,
      path: '/x/a..b',
    });
  });

  it('refuses a UUID outside the alphabet', () => {
    expect(render('/x/{{agent.uuid}}', {}, 'a/b')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('agent.uuid'),
    });
  });

  it('refuses a rendered path longer than a SPIFFE ID allows', () => {
    const long = 'a'.repeat(MAX_PATH_LENGTH);
    expect(render('/x/{{aws_iam.role.name}}', { 'aws_iam.role.name': [long] })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/longer than/),
    });
  });
});
