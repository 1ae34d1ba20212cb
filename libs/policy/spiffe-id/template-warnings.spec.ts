import { builtInDescriptors } from '@libs/attestors/catalog';
import { policyAttributeNames } from '../attribute-names';
import { templateCollisionWarning } from './template-warnings';

const builtIns = builtInDescriptors();

const warningFor = (template: string, types: string[], catalog = builtIns) =>
  templateCollisionWarning(template, policyAttributeNames(types, catalog));

describe('templateCollisionWarning', () => {
  it.each([
    ['an EC2 tag', '/node/{{aws_iid.ec2.instance.tag.Name}}', ['aws_iid'], '{{aws_iid.ec2.instance.tag.Name}}'],
    [
      'a tag beside values every node of a region shares',
      '/{{aws_iid.account.id}}/{{aws_iid.ec2.instance.region}}/{{aws_iid.ec2.instance.tag.Name}}',
      ['aws_iid'],
      '{{aws_iid.ec2.instance.tag.Name}}',
    ],
    ['an STS session name', '/task/{{aws_iam.session.name}}', ['aws_iam'], '{{aws_iam.session.name}}'],
    [
      'an assumed role ARN, which carries the session name',
      '/task/{{aws_iam.role.name}}/{{aws_iam.user_id}}',
      ['aws_iam'],
      '{{aws_iam.user_id}}',
    ],
    [
      'an Azure VM name and resource group',
      '/vm/{{azure_msi.vm.resource_group}}/{{azure_msi.vm.name}}',
      ['azure_msi'],
      '{{azure_msi.vm.resource_group}}, {{azure_msi.vm.name}}',
    ],
    ['a pod name', '/pod/{{k8s_psat.cluster}}/{{k8s_psat.pod.name}}', ['k8s_psat'], '{{k8s_psat.pod.name}}'],
  ])('warns about %s with no node-unique attribute', (_what, template, types, named) => {
    expect(warningFor(template, types)).toMatch(
      new RegExp(`^${named.replace(/[{}.]/g, '\\$&')} can be set to the same value on two nodes by whoever runs them`),
    );
  });

  it('names the fix: {{agent.uuid}} or the policy attestors’ node-unique attributes', () => {
    expect(warningFor('/node/{{aws_iid.ec2.instance.tag.Name}}', ['aws_iid', 'k8s_psat'])).toMatch(
      /\(409 spiffe_id_in_use\); add \{\{agent\.uuid\}\} or a node-unique attribute \(\{\{aws_iid\.ec2\.instance\.id\}\}, \{\{k8s_psat\.pod\.uid\}\}\)$/,
    );
    expect(warningFor('/task/{{aws_iam.session.name}}', ['aws_iam'])).toMatch(/; add \{\{agent\.uuid\}\}$/);
  });

  it.each([
    [
      'the instance ID beside the tag',
      '/node/{{aws_iid.ec2.instance.tag.Name}}/{{aws_iid.ec2.instance.id}}',
      ['aws_iid'],
    ],
    ['{{agent.uuid}} beside the session name', '/task/{{aws_iam.session.name}}/{{agent.uuid}}', ['aws_iam']],
    [
      'another attestor’s node-unique attribute',
      '/eks/{{aws_iid.ec2.instance.tag.Name}}/{{k8s_psat.pod.uid}}',
      ['aws_iid', 'k8s_psat'],
    ],
    ['the managed identity', '/vm/{{azure_msi.vm.name}}/{{azure_msi.principal.id}}', ['azure_msi']],
    [
      'no caller-chosen value at all (shared, but not chosen: refused as 409 at the second node)',
      '/web/{{aws_iid.ec2.instance.region}}',
      ['aws_iid'],
    ],
    ['a fixed path', '/lab/server', ['join_token']],
    ['an invalid template (its errors are reported elsewhere)', 'node/{{aws_iid.ec2.instance.tag.Name}}', ['aws_iid']],
  ])('does not warn with %s', (_what, template, types) => {
    expect(warningFor(template, types)).toBeUndefined();
  });

  it("never warns about a built-in attestor's default path", () => {
    const catalog = builtInDescriptors();
    for (const descriptor of catalog)
      expect(warningFor(descriptor.defaultSpiffeIdPath, [descriptor.type], catalog)).toBeUndefined();
  });

  it('declares node-unique and caller-chosen attributes among each built-in attestor’s own, and never both', () => {
    for (const descriptor of builtInDescriptors()) {
      const names = policyAttributeNames([descriptor.type], [descriptor]);
      for (const name of [...descriptor.nodeUnique, ...descriptor.callerChosen]) {
        expect([
          descriptor.type,
          name,
          names.checkTemplateAttribute(`${descriptor.type}.${name.replace(/\*$/, 'x')}`),
        ]).toEqual([descriptor.type, name, undefined]);
      }
      expect(descriptor.nodeUnique.filter((name) => descriptor.callerChosen.includes(name))).toEqual([]);
    }
  });
});
