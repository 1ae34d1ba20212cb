import { Sha256 } from '@aws-crypto/sha256-js';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'node:http';
import type { WorldInit } from './world';

// Shared by the simulator's own specs: a small world and SDK clients
// configured the way the server configures them (endpoint + credentials).

export const SERVER_ACCOUNT = '111111111111';
export const MEMBER_ACCOUNT = '222222222222';
export const OUTSIDER_ACCOUNT = '333333333333';
export const MGMT_ACCOUNT = '999999999999';
export const ORG_ROLE = `arn:aws:iam::${MGMT_ACCOUNT}:role/attestd-org-accounts`;
export const MEMBER_ROLE = `arn:aws:iam::${MEMBER_ACCOUNT}:role/attestd`;
export const WEB_PROFILE = `arn:aws:iam::${SERVER_ACCOUNT}:instance-profile/web`;
export const WEB_ROLE = `arn:aws:iam::${SERVER_ACCOUNT}:role/web-frontend`;
export const OUTSIDER_KEY = {
  accessKeyId: 'AKIAOUTSIDER00000001',
  secretAccessKey: 'outsider-secret-0000000000000000000000000',
};

export function worldInit(): WorldInit {
  return {
    server: {
      accountId: SERVER_ACCOUNT,
      accessKeyId: 'AKIASERVER0000000001',
      secretAccessKey: 'server-secret-000000000000000000000000000',
    },
    credentials: [
      {
        ...OUTSIDER_KEY,
        accountId: OUTSIDER_ACCOUNT,
        arn: `arn:aws:iam::${OUTSIDER_ACCOUNT}:user/mallory`,
        userId: 'AIDAOUTSIDER000000001',
      },
    ],
    instanceProfiles: [{ arn: WEB_PROFILE, roleArns: [WEB_ROLE] }],
    roles: [
      { arn: MEMBER_ROLE, trustedPrincipals: [`arn:aws:iam::${SERVER_ACCOUNT}:root`] },
      { arn: ORG_ROLE, trustedPrincipals: [SERVER_ACCOUNT] },
      { arn: WEB_ROLE, trustedPrincipals: [] },
    ],
    organizations: [
      {
        id: 'o-abcdef0123',
        managementAccountId: MGMT_ACCOUNT,
        listAccountsRoleArns: [ORG_ROLE],
        memberAccountIds: [SERVER_ACCOUNT, MEMBER_ACCOUNT],
      },
    ],
    instances: [
      {
        accountId: SERVER_ACCOUNT,
        region: 'us-east-1',
        instanceId: 'i-0b22a22eec53b9321',
        imageId: 'ami-5fb8c835',
        instanceType: 't3.small',
        privateIp: '10.0.1.5',
        availabilityZone: 'us-east-1b',
        tags: { Name: 'blog', env: 'prod' },
        securityGroups: [
          { id: 'sg-01234567', name: 'blog' },
          { id: 'sg-89abcdef', name: 'ssh' },
        ],
        iamInstanceProfileArn: WEB_PROFILE,
        launchTime: new Date('2024-05-01T10:00:00Z'),
        networkInterfaceAttachTime: new Date('2024-05-01T10:00:00Z'),
        rootDeviceAttachTime: new Date('2024-05-01T10:00:03Z'),
      },
      {
        accountId: SERVER_ACCOUNT,
        region: 'us-east-1',
        instanceId: 'i-0aaaaaaaaaaaaaaa1',
        rootDeviceType: 'instance-store',
      },
      { accountId: SERVER_ACCOUNT, region: 'us-west-2', instanceId: 'i-0bbbbbbbbbbbbbbb2' },
      { accountId: MEMBER_ACCOUNT, region: 'us-east-1', instanceId: 'i-0ccccccccccccccc3' },
    ],
    eksClusters: [
      {
        accountId: SERVER_ACCOUNT,
        region: 'us-east-1',
        name: 'prod',
        nodeGroups: [
          { name: 'ng-a', autoScalingGroupNames: ['eks-ng-a-1'] },
          { name: 'ng-b', autoScalingGroupNames: ['eks-ng-b-1', 'eks-ng-b-2'] },
        ],
      },
    ],
    autoScalingGroups: [
      { accountId: SERVER_ACCOUNT, region: 'us-east-1', name: 'eks-ng-a-1', instanceIds: ['i-0b22a22eec53b9321'] },
      { accountId: SERVER_ACCOUNT, region: 'us-east-1', name: 'eks-ng-b-1', instanceIds: ['i-0aaaaaaaaaaaaaaa1'] },
      { accountId: SERVER_ACCOUNT, region: 'us-east-1', name: 'eks-ng-b-2', instanceIds: [] },
    ],
  };
}

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export function clientConfig(endpoint: string, credentials: Creds, region = 'us-east-1') {
  return { endpoint, region, credentials, maxAttempts: 1 };
}

export function clients(endpoint: string, credentials: Creds, region = 'us-east-1') {
  const config = clientConfig(endpoint, credentials, region);
  return {
    ec2: new EC2Client(config),
    iam: new IAMClient(config),
    sts: new STSClient(config),
    organizations: new OrganizationsClient(config),
    eks: new EKSClient(config),
    autoScaling: new AutoScalingClient(config),
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends a request as is (headers, Host included) to `url`'s server. */
export function sendRaw(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const GET_CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

/** What an agent sends for `aws_iam`: a SigV4-signed STS GetCallerIdentity with a signed challenge header. */
export async function presignedGetCallerIdentity(
  credentials: Creds,
  challenge: string,
  options: { region?: string; host?: string; signingDate?: Date } = {},
): Promise<{ method: string; headers: Record<string, string>; body: string }> {
  const region = options.region ?? 'us-east-1';
  const host = options.host ?? `sts.${region}.amazonaws.com`;
  const signer = new SignatureV4({ credentials, region, service: 'sts', sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'https:',
      hostname: host,
      path: '/',
      query: {},
      headers: {
        host,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-attestd-challenge': challenge,
      },
      body: GET_CALLER_IDENTITY_BODY,
    },
    options.signingDate ? { signingDate: options.signingDate } : {},
  );
  return { method: 'POST', headers: signed.headers as Record<string, string>, body: GET_CALLER_IDENTITY_BODY };
}
