import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { clients, MEMBER_ACCOUNT, SERVER_ACCOUNT, WEB_PROFILE, worldInit } from '../fixtures';
import { startAwsSimulator, type AwsSimulator } from '../index';

describe('aws-simulator ec2 DescribeInstances', () => {
  let sim: AwsSimulator;
  let ec2: EC2Client;

  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
    ec2 = clients(sim.url, sim.world.server).ec2;
  });
  afterAll(() => sim?.close());

  it('returns the instance with every field the aws_iid attestor reads', async () => {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0b22a22eec53b9321'] }));
    expect(out.Reservations).toHaveLength(1);
    expect(out.Reservations?.[0]?.OwnerId).toBe(SERVER_ACCOUNT);
    const i = out.Reservations?.[0]?.Instances?.[0];
    expect(i).toMatchObject({
      InstanceId: 'i-0b22a22eec53b9321',
      ImageId: 'ami-5fb8c835',
      InstanceType: 't3.small',
      State: { Code: 16, Name: 'running' },
      PrivateIpAddress: '10.0.1.5',
      PrivateDnsName: 'ip-10-0-1-5.ec2.internal',
      Placement: { AvailabilityZone: 'us-east-1b' },
      SecurityGroups: [
        { GroupId: 'sg-01234567', GroupName: 'blog' },
        { GroupId: 'sg-89abcdef', GroupName: 'ssh' },
      ],
      IamInstanceProfile: { Arn: WEB_PROFILE },
      RootDeviceType: 'ebs',
      RootDeviceName: '/dev/xvda',
      LaunchTime: new Date('2024-05-01T10:00:00Z'),
    });
    expect(i?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'Name', Value: 'blog' },
        { Key: 'env', Value: 'prod' },
      ]),
    );
    expect(i?.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/xvda',
        Ebs: expect.objectContaining({ AttachTime: new Date('2024-05-01T10:00:03Z'), Status: 'attached' }),
      },
    ]);
    expect(i?.NetworkInterfaces?.[0]?.Attachment).toMatchObject({
      DeviceIndex: 0,
      AttachTime: new Date('2024-05-01T10:00:00Z'),
      Status: 'attached',
    });
  });

  it('answers several ids in one call', async () => {
    const out = await ec2.send(
      new DescribeInstancesCommand({ InstanceIds: ['i-0b22a22eec53b9321', 'i-0aaaaaaaaaaaaaaa1'] }),
    );
    const ids = out.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
    expect(ids?.sort()).toEqual(['i-0aaaaaaaaaaaaaaa1', 'i-0b22a22eec53b9321']);
  });

  it('reports an instance-store root with no block device mappings', async () => {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0aaaaaaaaaaaaaaa1'] }));
    const i = out.Reservations?.[0]?.Instances?.[0];
    expect(i?.RootDeviceType).toBe('instance-store');
    expect(i?.BlockDeviceMappings ?? []).toEqual([]);
  });

  it('refuses an unknown id with InvalidInstanceID.NotFound', async () => {
    await expect(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
    ).rejects.toMatchObject({
      name: 'InvalidInstanceID.NotFound',
      message: "The instance ID 'i-0123456789abcdef0' does not exist",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('names every missing id when several are unknown', async () => {
    await expect(
      ec2.send(
        new DescribeInstancesCommand({
          InstanceIds: ['i-0b22a22eec53b9321', 'i-00000000000000001', 'i-00000000000000002'],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidInstanceID.NotFound',
      message: "The instance IDs 'i-00000000000000001, i-00000000000000002' do not exist",
    });
  });

  it('refuses a malformed id with InvalidInstanceID.Malformed', async () => {
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['web-1'] }))).rejects.toMatchObject({
      name: 'InvalidInstanceID.Malformed',
    });
  });

  it("does not show another account's instance, nor another region's", async () => {
    await expect(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0ccccccccccccccc3'] })),
    ).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    await expect(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0bbbbbbbbbbbbbbb2'] })),
    ).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    const west = clients(sim.url, sim.world.server, 'us-west-2').ec2;
    const out = await west.send(new DescribeInstancesCommand({ InstanceIds: ['i-0bbbbbbbbbbbbbbb2'] }));
    expect(out.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe('i-0bbbbbbbbbbbbbbb2');
    expect(MEMBER_ACCOUNT).not.toBe(SERVER_ACCOUNT);
  });

  it('follows the world: added, stopped and re-attached instances', async () => {
    const added = sim.world.addInstance({ accountId: SERVER_ACCOUNT, region: 'us-east-1', tags: { role: 'new' } });
    sim.world.stopInstance(added.instanceId);
    let out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [added.instanceId] }));
    expect(out.Reservations?.[0]?.Instances?.[0]?.State).toEqual({ Code: 80, Name: 'stopped' });
    sim.world.startInstance(added.instanceId);
    sim.world.updateInstance(added.instanceId, { rootDeviceAttachTime: new Date('2030-01-01T00:00:00Z') });
    out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [added.instanceId] }));
    const i = out.Reservations?.[0]?.Instances?.[0];
    expect(i?.State?.Name).toBe('running');
    expect(i?.BlockDeviceMappings?.[0]?.Ebs?.AttachTime).toEqual(new Date('2030-01-01T00:00:00Z'));
  });

  it('narrows with the instance-id filter without raising NotFound', async () => {
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-id', Values: ['i-0aaaaaaaaaaaaaaa1', 'i-0ffffffffffffffff'] }],
      }),
    );
    expect(out.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([
      'i-0aaaaaaaaaaaaaaa1',
    ]);
  });
});
