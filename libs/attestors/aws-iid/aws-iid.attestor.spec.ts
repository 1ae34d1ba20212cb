import { DependencyUnavailable } from '../attestor';
import type { AwsCloud, Ec2Instance } from '../aws/ports';
import { awsIidAttestor, type AwsIidConfig } from './aws-iid.attestor';
import { iidDocument, signIid, testSigner, testTrustSet } from './testing/iid-signer';
import { rejectionReason } from '../testing/rejection';

const ACCOUNT = '123456789012';
const INSTANCE = 'i-0123456789abcdef0';
const attachedAt = new Date('2026-11-01T10:00:00Z');

function instance(overrides: Partial<Ec2Instance> = {}): Ec2Instance {
  return {
    instanceId: INSTANCE,
    state: 'running',
    privateDnsName: 'ip-10-0-0-5.ec2.internal',
    tags: { env: 'prod', 'kubernetes.io/role': 'node' },
    securityGroups: [{ id: 'sg-1', name: 'web' }],
    instanceProfileArn: `arn:aws:iam::${ACCOUNT}:instance-profile/web`,
    rootDeviceType: 'ebs',
    rootVolumeAttachTime: new Date(attachedAt.getTime() + 2_000),
    primaryInterfaceAttachTime: attachedAt,
    ...overrides,
  };
}

/** A fake AWS: one account, one instance, recorded calls. */
function fakeCloud(
  found: Ec2Instance | null = instance(),
  overrides: Partial<AwsCloud> = {},
): AwsCloud & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    isAccountAllowed: async (accountId, config) => (
      calls.push('account'),
      accountId === ACCOUNT || (config.awsAccountsAllowed ?? []).includes(accountId)
    ),
    describeInstance: async () => (calls.push('describe'), found),
    instanceProfileRoles: async () => (calls.push('profile'), [`arn:aws:iam::${ACCOUNT}:role/web`]),
    eksClusterOf: async (_a, _r, _i, names) => (
      calls.push('eks'),
      names.includes('web-cluster') ? 'web-cluster' : null
    ),
    ...overrides,
  };
}

const signer = () => testSigner('us-east-1');
const trust = () => testTrustSet([{ regions: ['us-east-1'], signer: signer() }]);

function setup(cloud = fakeCloud(), settings = { disableInstanceProfileSelectors: false, skipBlockDevice: false }) {
  return { cloud, attestor: awsIidAttestor({ cloud, trust, settings }) };
}

function proof(fields: Record<string, unknown> = {}) {
  const document = iidDocument({ accountId: ACCOUNT, instanceId: INSTANCE, ...fields });
  return { document, signature: signIid(document, signer()) };
}

const verify = (attestor: ReturnType<typeof setup>['attestor'], p = proof(), config: AwsIidConfig = {}) =>
  attestor.verify(p, config, { now: new Date() });

describe('aws_iid attestor', () => {
  it('emits the document attributes, tags (dotted names too), groups, roles, selectors and the TOFU key', async () => {
    const verified = await verify(setup().attestor);
    expect(verified.attributes).toEqual({
      'account.id': [ACCOUNT],
      'ec2.instance.id': [INSTANCE],
      'ec2.instance.region': ['us-east-1'],
      'ec2.instance.availability_zone': [expect.any(String)],
      'ec2.instance.image_id': [expect.any(String)],
      'ec2.instance.type': [expect.any(String)],
      'ec2.instance.private_ip': [expect.any(String)],
      'ec2.instance.private_dns_name': ['ip-10-0-0-5.ec2.internal'],
      'ec2.instance.tag.env': ['prod'],
      'ec2.instance.tag.kubernetes.io/role': ['node'],
      'ec2.security_group.id': ['sg-1'],
      'ec2.security_group.name': ['web'],
      'iam.role': [`arn:aws:iam::${ACCOUNT}:role/web`],
    });
    expect(verified.selectors).toEqual(
      expect.arrayContaining([
        `instance:id:${INSTANCE}`,
        'region:us-east-1',
        'tag:env:prod',
        'sg:id:sg-1',
        'sg:name:web',
        `iamrole:arn:aws:iam::${ACCOUNT}:role/web`,
      ]),
    );
    expect(verified.tofuKey).toBe(`aws_iid/${ACCOUNT}/us-east-1/${INSTANCE}`);
  });

  it('rejects a bad signature before any cloud call', async () => {
    const { attestor, cloud } = setup();
    const p = proof();
    const tampered = { ...p, document: p.document.replace(ACCOUNT, '999999999999') };
    expect(await rejectionReason(verify(attestor, tampered))).toBe(
      'aws_iid: document sent differs from the content inside the signature',
    );
    expect(cloud.calls).toEqual([]);
  });

  it("rejects an account that is neither the server's, allowed, nor in an organization", async () => {
    const { attestor, cloud } = setup();
    expect(await rejectionReason(verify(attestor, proof({ accountId: '210987654321' })))).toBe(
      'aws_iid: account 210987654321 is not allowed',
    );
    expect(cloud.calls).toEqual(['account']);
  });

  it('accepts an account from awsAccountsAllowed', async () => {
    await expect(
      verify(setup().attestor, proof({ accountId: '210987654321' }), { awsAccountsAllowed: ['210987654321'] }),
    ).resolves.toBeDefined();
  });

  it('rejects an instance EC2 does not know', async () => {
    expect(await rejectionReason(verify(setup(fakeCloud(null)).attestor))).toBe(
      `aws_iid: instance ${INSTANCE} does not exist in account ${ACCOUNT}, region us-east-1`,
    );
  });

  it('rejects a stopped instance', async () => {
    expect(await rejectionReason(verify(setup(fakeCloud(instance({ state: 'stopped' }))).attestor))).toBe(
      `aws_iid: instance ${INSTANCE} is stopped, not running`,
    );
  });

  it('rejects a root volume attached long after the first network interface (moved from another instance)', async () => {
    const moved = instance({ rootVolumeAttachTime: new Date(attachedAt.getTime() + 3600_000) });
    expect(await rejectionReason(verify(setup(fakeCloud(moved)).attestor))).toBe(
      `aws_iid: instance ${INSTANCE}: root volume attached 3600 s apart from its network interface (possibly moved from another instance)`,
    );
  });

  it('rejects an EBS root whose attach times cannot be read (fail closed)', async () => {
    expect(
      await rejectionReason(verify(setup(fakeCloud(instance({ rootVolumeAttachTime: undefined }))).attestor)),
    ).toBe(`aws_iid: instance ${INSTANCE}: cannot tell when its root volume was attached`);
  });

  it('skips the root device check for instance-store roots and with aws.skipBlockDevice', async () => {
    const moved = instance({ rootVolumeAttachTime: new Date(attachedAt.getTime() + 3600_000) });
    await expect(
      verify(setup(fakeCloud(instance({ ...moved, rootDeviceType: 'instance-store' }))).attestor),
    ).resolves.toBeDefined();
    await expect(
      verify(setup(fakeCloud(moved), { disableInstanceProfileSelectors: false, skipBlockDevice: true }).attestor),
    ).resolves.toBeDefined();
  });

  it('does not look up instance profile roles with aws.disableInstanceProfileSelectors', async () => {
    const { attestor, cloud } = setup(fakeCloud(), { disableInstanceProfileSelectors: true, skipBlockDevice: false });
    expect((await verify(attestor)).attributes['iam.role']).toEqual([]);
    expect(cloud.calls).not.toContain('profile');
  });

  it('with eksClusterNames, requires node-group membership and emits the cluster', async () => {
    const { attestor } = setup();
    expect(
      (await verify(attestor, proof(), { eksClusterNames: ['web-cluster'] })).attributes['eks.cluster.name'],
    ).toEqual(['web-cluster']);
    expect(await rejectionReason(verify(attestor, proof(), { eksClusterNames: ['db-cluster'] }))).toBe(
      `aws_iid: instance ${INSTANCE} is not in a node group of EKS cluster db-cluster`,
    );
  });

  it('lets an unreachable AWS fail the login closed, not as a bad proof', async () => {
    const down = fakeCloud(instance(), {
      describeInstance: async () => Promise.reject(new DependencyUnavailable('aws: ec2 unavailable')),
    });
    await expect(verify(setup(down).attestor)).rejects.toThrow(DependencyUnavailable);
  });
});
