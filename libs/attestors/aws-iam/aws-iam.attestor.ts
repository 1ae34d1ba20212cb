import type { JSONSchemaType } from 'ajv';
import { DependencyUnavailable, ProofRejected, rejectionOf, type Attestor, type Verified } from '../attestor';
import { AWS_ACCOUNT_CONFIG_PROPERTIES } from '../aws/account-config-schema';
import type { AwsAccountConfig, AwsAccountGate, StsSender } from '../aws/ports';
import { parseCallerIdentity, type CallerIdentity } from './caller-identity';
import { vetSignedRequest, type Partition } from './signed-request';

export interface AwsIamProof {
  method: string;
  url: string;
  /** `Partial` only so `JSONSchemaType` needs no `required` list for free header names */
  headers: Partial<Record<string, string>>;
  body: string;
}

export interface AwsIamPorts {
  accounts: AwsAccountGate;
  sts: StsSender;
  partition: Partition;
}

const CONFIG_SCHEMA: JSONSchemaType<AwsAccountConfig> = {
  type: 'object',
  additionalProperties: false,
  properties: { ...AWS_ACCOUNT_CONFIG_PROPERTIES },
};

const PROOF_SCHEMA: JSONSchemaType<AwsIamProof> = {
  type: 'object',
  additionalProperties: false,
  required: ['method', 'url', 'headers', 'body'],
  properties: {
    method: { type: 'string', maxLength: 16 },
    url: { type: 'string', maxLength: 256 },
    headers: { type: 'object', maxProperties: 16, additionalProperties: { type: 'string', maxLength: 8192 } },
    body: { type: 'string', maxLength: 256 },
  },
};

/**
 * `aws_iam` (attestors.md): a SigV4-signed STS GetCallerIdentity, bound to
 * this login's challenge, that the server sends to STS itself. For machines
 * that cannot be told apart (Fargate tasks, Lambda functions): no TOFU key.
 */
export function awsIamAttestor(ports: AwsIamPorts): Attestor<AwsIamProof, AwsAccountConfig> {
  return {
    type: 'aws_iam',
    attributes: ['account.id', 'arn', 'principal.type', 'role.name', 'session.name', 'user.name', 'user_id'],
    singleValued: ['account.id', 'arn', 'principal.type', 'role.name', 'session.name', 'user.name', 'user_id'],
    // no TOFU key: nothing names one node (templates use {{agent.uuid}})
    nodeUnique: [],
    // the caller of sts:AssumeRole names the session; an assumed role's ARN and user ID carry that name
    callerChosen: ['session.name', 'arn', 'user_id'],
    configSchema: CONFIG_SCHEMA,
    proofSchema: PROOF_SCHEMA,
    defaultSpiffeIdPath: '/agent/aws_iam/{{aws_iam.account.id}}/{{aws_iam.role.name}}/{{agent.uuid}}',
    bindsChallenge: true,
    async verify(proof, config, context): Promise<Verified> {
      const vetted = vetSignedRequest(proof, context.challenge, ports.partition, context.now); // steps 1-2, no I/O
      const identity = await callerIdentity(ports.sts, vetted.request); // step 3
      if (!(await ports.accounts.isAccountAllowed(identity.account, config)))
        throw rejectionOf('aws_iam', `account ${identity.account} is not allowed`, 'account is not allowed'); // step 4
      return { attributes: attributesOf(identity), selectors: selectorsOf(identity) };
    },
  };
}

async function callerIdentity(sts: StsSender, request: Parameters<StsSender['send']>[0]): Promise<CallerIdentity> {
  const answer = await sts.send(request);
  if (answer.status === 200) return parseCallerIdentity(answer.body);
  if (answer.status >= 500 || answer.status === 429 || /Throttl/.test(answer.body)) {
    throw new DependencyUnavailable(`aws: sts:GetCallerIdentity answered ${answer.status}`);
  }
  const code = /<Code>([A-Za-z.]{1,64})<\/Code>/.exec(answer.body)?.[1] ?? `HTTP ${answer.status}`;
  throw new ProofRejected(`aws_iam: STS rejected the signed request: ${code}`);
}

function attributesOf(identity: CallerIdentity): Record<string, string[]> {
  const one = (value: string | undefined) => (value === undefined ? [] : [value]);
  return {
    'account.id': [identity.account],
    arn: [identity.arn],
    'principal.type': [identity.principalType],
    'role.name': one(identity.roleName),
    'session.name': one(identity.sessionName),
    'user.name': one(identity.userName),
    user_id: [identity.userId],
  };
}

function selectorsOf(identity: CallerIdentity): string[] {
  return [
    `account:${identity.account}`,
    `arn:${identity.arn}`,
    ...(identity.roleName ? [`role:${identity.roleName}`] : []),
  ];
}
