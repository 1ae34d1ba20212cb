import type { JSONSchemaType } from 'ajv';
import { optionalProperty, rejectionOf, type Attestor, type Verified } from '../attestor';
import { AWS_ACCOUNT_CONFIG_PROPERTIES } from '../aws/account-config-schema';
import type { AwsAccountConfig, AwsCloud, Ec2Instance } from '../aws/ports';
import { parseIidDocument, type IidDocument } from './document';
import { verifyIidSignature } from './pkcs7';
import type { IidTrustSet } from './trust-set';

export interface AwsIidProof {
  /** the document exactly as IMDS served it */
  document: string;
  /** base64 PKCS#7 from `.../instance-identity/rsa2048` */
  signature: string;
}

export interface AwsIidConfig extends AwsAccountConfig {
  eksClusterNames?: string[];
}

export interface AwsIidPorts {
  cloud: AwsCloud;
  /** the trust set of the active AwsIidCertificates version (built-ins plus additions) */
  trust(): IidTrustSet;
  settings: { disableInstanceProfileSelectors: boolean; skipBlockDevice: boolean };
}

/** A root volume moved from another instance attaches later than the instance's first interface. */
const MAX_ROOT_ATTACH_SKEW_MS = 60_000;

const CONFIG_SCHEMA: JSONSchemaType<AwsIidConfig> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...AWS_ACCOUNT_CONFIG_PROPERTIES,
    eksClusterNames: optionalProperty({
      type: 'array',
      items: { type: 'string', pattern: '^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$' },
      maxItems: 50,
      uniqueItems: true,
    }),
  },
};

const PROOF_SCHEMA: JSONSchemaType<AwsIidProof> = {
  type: 'object',
  additionalProperties: false,
  required: ['document', 'signature'],
  properties: { document: { type: 'string', maxLength: 8192 }, signature: { type: 'string', maxLength: 16384 } },
};

const DOCUMENT_ATTRIBUTES = [
  'account.id',
  'ec2.instance.id',
  'ec2.instance.region',
  'ec2.instance.availability_zone',
  'ec2.instance.image_id',
  'ec2.instance.type',
  'ec2.instance.private_ip',
];

/**
 * `aws_iid` (attestors.md): an EC2 instance identity document signed by AWS,
 * checked step by step; the first failing step rejects with its reason.
 */
export function awsIidAttestor(ports: AwsIidPorts): Attestor<AwsIidProof, AwsIidConfig> {
  return {
    type: 'aws_iid',
    attributes: [
      ...DOCUMENT_ATTRIBUTES,
      'ec2.instance.private_dns_name',
      'ec2.instance.tag.*',
      'ec2.security_group.id',
      'ec2.security_group.name',
      'iam.role',
      'eks.cluster.name',
    ],
    singleValued: [...DOCUMENT_ATTRIBUTES, 'ec2.instance.private_dns_name', 'ec2.instance.tag.*', 'eks.cluster.name'],
    nodeUnique: ['ec2.instance.id'],
    // anyone allowed ec2:CreateTags on an instance (often the instance's own role) writes its tags
    callerChosen: ['ec2.instance.tag.*'],
    configSchema: CONFIG_SCHEMA,
    proofSchema: PROOF_SCHEMA,
    defaultSpiffeIdPath:
      '/agent/aws_iid/{{aws_iid.account.id}}/{{aws_iid.ec2.instance.region}}/{{aws_iid.ec2.instance.id}}',
    bindsChallenge: false,
    async verify(proof, config): Promise<Verified> {
      verifyIidSignature(proof.signature, proof.document, ports.trust()); // step 1
      const document = parseIidDocument(proof.document); // step 2
      const { accountId, region, instanceId } = document;
      if (!(await ports.cloud.isAccountAllowed(accountId, config)))
        reject(`account ${accountId} is not allowed`, 'account is not allowed'); // step 3
      const instance = await ports.cloud.describeInstance(accountId, region, instanceId); // steps 4-5
      if (!instance) reject(`instance ${instanceId} does not exist in account ${accountId}, region ${region}`);
      if (instance.state !== 'running') reject(`instance ${instanceId} is ${instance.state}, not running`);
      if (!ports.settings.skipBlockDevice) checkRootDevice(instance);
      const roles =
        instance.instanceProfileArn && !ports.settings.disableInstanceProfileSelectors
          ? await ports.cloud.instanceProfileRoles(accountId, region, instance.instanceProfileArn) // step 6
          : [];
      const cluster = config.eksClusterNames?.length
        ? await eksCluster(ports.cloud, document, config.eksClusterNames)
        : undefined; // step 7
      return {
        attributes: attributesOf(document, instance, roles, cluster),
        selectors: selectorsOf(document, instance, roles),
        tofuKey: `aws_iid/${accountId}/${region}/${instanceId}`, // step 8
      };
    },
  };
}

function reject(reason: string, agentReason?: string): never {
  throw rejectionOf('aws_iid', reason, agentReason);
}

/** Anti-tampering (step 5): an EBS root volume must have come with the instance. */
function checkRootDevice(instance: Ec2Instance): void {
  if (instance.rootDeviceType !== 'ebs') return;
  const { rootVolumeAttachTime: root, primaryInterfaceAttachTime: eni } = instance;
  if (!root || !eni) reject(`instance ${instance.instanceId}: cannot tell when its root volume was attached`);
  if (Math.abs(root.getTime() - eni.getTime()) > MAX_ROOT_ATTACH_SKEW_MS) {
    reject(
      `instance ${instance.instanceId}: root volume attached ${Math.round(Math.abs(root.getTime() - eni.getTime()) / 1000)} s apart from its network interface (possibly moved from another instance)`,
    );
  }
}

async function eksCluster(cloud: AwsCloud, document: IidDocument, clusterNames: string[]): Promise<string> {
  const cluster = await cloud.eksClusterOf(document.accountId, document.region, document.instanceId, clusterNames);
  if (!cluster)
    reject(
      `instance ${document.instanceId} is not in a node group of EKS cluster ${clusterNames.join(', ')}`,
      `instance ${document.instanceId} is not in a node group of an allowed EKS cluster`,
    );
  return cluster;
}

function attributesOf(
  document: IidDocument,
  instance: Ec2Instance,
  roles: string[],
  cluster: string | undefined,
): Record<string, string[]> {
  const attributes: Record<string, string[]> = {
    'account.id': [document.accountId],
    'ec2.instance.id': [document.instanceId],
    'ec2.instance.region': [document.region],
    'ec2.instance.availability_zone': [document.availabilityZone],
    'ec2.instance.image_id': [document.imageId],
    'ec2.instance.type': [document.instanceType],
    'ec2.instance.private_ip': [document.privateIp],
    'ec2.security_group.id': instance.securityGroups.map((g) => g.id),
    'ec2.security_group.name': instance.securityGroups.map((g) => g.name),
    'iam.role': roles,
  };
  if (instance.privateDnsName) attributes['ec2.instance.private_dns_name'] = [instance.privateDnsName];
  for (const [name, value] of Object.entries(instance.tags)) attributes[`ec2.instance.tag.${name}`] = [value];
  if (cluster) attributes['eks.cluster.name'] = [cluster];
  return attributes;
}

/** SPIRE's aws_iid selectors, so workload registrations carry over. */
function selectorsOf(document: IidDocument, instance: Ec2Instance, roles: string[]): string[] {
  return [
    `az:${document.availabilityZone}`,
    `image:id:${document.imageId}`,
    `instance:id:${document.instanceId}`,
    `region:${document.region}`,
    ...roles.map((role) => `iamrole:${role}`),
    ...Object.entries(instance.tags).map(([name, value]) => `tag:${name}:${value}`),
    ...instance.securityGroups.map((g) => `sg:id:${g.id}`),
    ...instance.securityGroups.map((g) => `sg:name:${g.name}`),
  ];
}
