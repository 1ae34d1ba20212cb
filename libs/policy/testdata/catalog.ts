import type { AttestorDescriptor } from '../../attestors/attestor';

// A small fake catalog built from attestors.md: the attribute names, the
// single-valued, node-unique and caller-chosen ones, a config schema and the
// default path of each attestor.
// Proof schemas are irrelevant to the policy library.

const accountId = { type: 'string', pattern: '^[0-9]{12}$' };
const awsAccountConfig = {
  awsAccountsAllowed: { type: 'array', items: accountId },
  assumeOrgRoleArns: { type: 'array', items: { type: 'string', pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$' } },
};

function descriptor(d: Omit<AttestorDescriptor, 'proofSchema' | 'bindsChallenge'> & { bindsChallenge?: boolean }): AttestorDescriptor {
  return { proofSchema: { type: 'object' }, bindsChallenge: false, ...d };
}

export const awsIid = descriptor({
  type: 'aws_iid',
  attributes: [
    'account.id',
    'ec2.instance.id',
    'ec2.instance.region',
    'ec2.instance.availability_zone',
    'ec2.instance.image_id',
    'ec2.instance.type',
    'ec2.instance.private_ip',
    'ec2.instance.private_dns_name',
    'ec2.instance.tag.*',
    'ec2.security_group.id',
    'ec2.security_group.name',
    'iam.role',
    'eks.cluster.name',
  ],
  singleValued: [
    'account.id',
    'ec2.instance.id',
    'ec2.instance.region',
    'ec2.instance.availability_zone',
    'ec2.instance.image_id',
    'ec2.instance.type',
    'ec2.instance.private_ip',
    'ec2.instance.private_dns_name',
    'ec2.instance.tag.*',
    'eks.cluster.name',
  ],
  nodeUnique: ['ec2.instance.id'],
  callerChosen: ['ec2.instance.tag.*'],
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { ...awsAccountConfig, eksClusterNames: { type: 'array', items: { type: 'string', minLength: 1 } } },
  },
  defaultSpiffeIdPath: '/agent/aws_iid/{{aws_iid.account.id}}/{{aws_iid.ec2.instance.region}}/{{aws_iid.ec2.instance.id}}',
});

export const awsIam = descriptor({
  type: 'aws_iam',
  attributes: ['account.id', 'arn', 'principal.type', 'role.name', 'session.name', 'user.name', 'user_id'],
  singleValued: ['account.id', 'arn', 'principal.type', 'role.name', 'session.name', 'user.name', 'user_id'],
  nodeUnique: [],
  callerChosen: ['session.name', 'arn', 'user_id'],
  configSchema: { type: 'object', additionalProperties: false, properties: awsAccountConfig },
  defaultSpiffeIdPath: '/agent/aws_iam/{{aws_iam.account.id}}/{{aws_iam.role.name}}/{{agent.uuid}}',
  bindsChallenge: true,
});

export const azureMsi = descriptor({
  type: 'azure_msi',
  attributes: [
    'tenant.id',
    'principal.id',
    'identity.type',
    'identity.name',
    'identity.resource_group',
    'subscription.id',
    'vm.name',
    'vm.resource_group',
    'network.security_group',
    'network.virtual_network',
    'network.subnet',
  ],
  singleValued: ['tenant.id', 'principal.id', 'identity.type', 'identity.name', 'identity.resource_group', 'subscription.id', 'vm.name', 'vm.resource_group'],
  nodeUnique: ['principal.id'],
  callerChosen: ['vm.name', 'vm.resource_group', 'identity.name', 'identity.resource_group'],
  configSchema: {
    type: 'object',
    required: ['tenants'],
    additionalProperties: false,
    properties: {
      tenants: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', minLength: 1 }, resourceId: { type: 'string', minLength: 1 } },
        },
      },
    },
  },
  defaultSpiffeIdPath: '/agent/azure_msi/{{azure_msi.tenant.id}}/{{azure_msi.principal.id}}',
});

export const k8sPsat = descriptor({
  type: 'k8s_psat',
  attributes: ['cluster', 'namespace', 'service_account', 'pod.name', 'pod.uid', 'node.name', 'node.uid'],
  singleValued: ['cluster', 'namespace', 'service_account', 'pod.name', 'pod.uid', 'node.name', 'node.uid'],
  nodeUnique: ['pod.uid'],
  callerChosen: ['pod.name'],
  configSchema: {
    type: 'object',
    required: ['clusters'],
    additionalProperties: false,
    properties: { clusters: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } },
  },
  defaultSpiffeIdPath: '/agent/k8s_psat/{{k8s_psat.cluster}}/{{k8s_psat.pod.uid}}',
});

export const joinToken = descriptor({
  type: 'join_token',
  attributes: ['id'],
  singleValued: ['id'],
  nodeUnique: ['id'],
  callerChosen: [],
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  defaultSpiffeIdPath: '/agent/join_token/{{join_token.id}}',
});

export const testCatalog: readonly AttestorDescriptor[] = [awsIid, awsIam, azureMsi, k8sPsat, joinToken];
