import { ListAccountsCommand, paginateListAccounts } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  clients,
  type Creds,
  MEMBER_ACCOUNT,
  MGMT_ACCOUNT,
  ORG_ROLE,
  OUTSIDER_KEY,
  SERVER_ACCOUNT,
  worldInit,
} from '../fixtures';
import { startAwsSimulator, type AwsSimulator } from '../index';

describe('aws-simulator organizations ListAccounts', () => {
  let sim: AwsSimulator;
  let orgRole: Creds;

  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
    for (let n = 0; n < 45; n++) sim.world.addAccount({ id: String(400000000000 + n), organizationId: 'o-abcdef0123' });
    const assumed = await clients(sim.url, sim.world.server).sts.send(
      new AssumeRoleCommand({ RoleArn: ORG_ROLE, RoleSessionName: 'attestd' }),
    );
    orgRole = {
      accessKeyId: assumed.Credentials?.AccessKeyId as string,
      secretAccessKey: assumed.Credentials?.SecretAccessKey as string,
      sessionToken: assumed.Credentials?.SessionToken as string,
    };
  });
  afterAll(() => sim?.close());

  it('lists every account of the organization across pages (NextToken)', async () => {
    const organizations = clients(sim.url, orgRole).organizations;
    const first = await organizations.send(new ListAccountsCommand({}));
    expect(first.Accounts).toHaveLength(20);
    expect(first.NextToken).toEqual(expect.any(String));
    expect(first.Accounts?.[0]).toMatchObject({
      Id: MGMT_ACCOUNT,
      Arn: `arn:aws:organizations::${MGMT_ACCOUNT}:account/o-abcdef0123/${MGMT_ACCOUNT}`,
      Status: 'ACTIVE',
      JoinedMethod: 'CREATED',
    });
    expect(first.Accounts?.[0]?.JoinedTimestamp).toEqual(new Date('2020-01-01T00:00:00Z'));
    const ids: string[] = [];
    for await (const page of paginateListAccounts({ client: organizations, pageSize: 7 }, {}))
      ids.push(...(page.Accounts ?? []).map((a) => a.Id as string));
    expect(ids).toHaveLength(48);
    expect(new Set(ids).size).toBe(48);
    expect(ids).toEqual(expect.arrayContaining([MGMT_ACCOUNT, SERVER_ACCOUNT, MEMBER_ACCOUNT, '400000000044']));
    expect(sim.log.count({ operation: 'ListAccounts' })).toBe(1 + 7);
  });

  it('refuses a forged NextToken', async () => {
    await expect(
      clients(sim.url, orgRole).organizations.send(new ListAccountsCommand({ NextToken: 'bogus' })),
    ).rejects.toMatchObject({
      name: 'InvalidInputException',
    });
  });

  it('refuses member accounts and roles other than the allowed ones (AccessDeniedException)', async () => {
    await expect(
      clients(sim.url, sim.world.server).organizations.send(new ListAccountsCommand({})),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    sim.world.addCredentials({
      accessKeyId: 'AKIAMGMTADMIN0000001',
      secretAccessKey: 'mgmt-admin-secret-00000000000000000000000',
      accountId: MGMT_ACCOUNT,
      arn: `arn:aws:iam::${MGMT_ACCOUNT}:user/admin`,
      userId: 'AIDAMGMTADMIN00000001',
    });
    const admin = clients(sim.url, {
      accessKeyId: 'AKIAMGMTADMIN0000001',
      secretAccessKey: 'mgmt-admin-secret-00000000000000000000000',
    });
    await expect(admin.organizations.send(new ListAccountsCommand({}))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it('answers AWSOrganizationsNotInUseException outside any organization', async () => {
    await expect(clients(sim.url, OUTSIDER_KEY).organizations.send(new ListAccountsCommand({}))).rejects.toMatchObject({
      name: 'AWSOrganizationsNotInUseException',
    });
  });
});
