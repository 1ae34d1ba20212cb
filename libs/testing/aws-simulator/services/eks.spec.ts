import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeNodegroupCommand, ListNodegroupsCommand, paginateListNodegroups } from '@aws-sdk/client-eks';
import { clients, OUTSIDER_KEY, SERVER_ACCOUNT, worldInit } from '../fixtures';
import { startAwsSimulator, type AwsSimulator } from '../index';

describe('aws-simulator eks and autoscaling', () => {
  let sim: AwsSimulator;

  beforeAll(async () => {
    sim = await startAwsSimulator(worldInit());
  });
  afterAll(() => sim?.close());

  it('ListNodegroups names the node groups of a cluster, paginated', async () => {
    const { eks } = clients(sim.url, sim.world.server);
    await expect(eks.send(new ListNodegroupsCommand({ clusterName: 'prod' }))).resolves.toMatchObject({
      nodegroups: ['ng-a', 'ng-b'],
    });
    const first = await eks.send(new ListNodegroupsCommand({ clusterName: 'prod', maxResults: 1 }));
    expect(first).toMatchObject({ nodegroups: ['ng-a'], nextToken: expect.any(String) });
    const all: string[] = [];
    for await (const page of paginateListNodegroups({ client: eks, pageSize: 1 }, { clusterName: 'prod' }))
      all.push(...(page.nodegroups ?? []));
    expect(all).toEqual(['ng-a', 'ng-b']);
  });

  it('DescribeNodegroup gives the Auto Scaling group names', async () => {
    const out = await clients(sim.url, sim.world.server).eks.send(
      new DescribeNodegroupCommand({ clusterName: 'prod', nodegroupName: 'ng-b' }),
    );
    expect(out.nodegroup).toMatchObject({ nodegroupName: 'ng-b', clusterName: 'prod', status: 'ACTIVE' });
    expect(out.nodegroup?.resources?.autoScalingGroups).toEqual([{ name: 'eks-ng-b-1' }, { name: 'eks-ng-b-2' }]);
    expect(out.nodegroup?.createdAt).toEqual(new Date('2020-01-01T00:00:00Z'));
  });

  it('unknown clusters and node groups are ResourceNotFoundException (404); other accounts see none', async () => {
    const { eks } = clients(sim.url, sim.world.server);
    await expect(eks.send(new ListNodegroupsCommand({ clusterName: 'dev' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'No cluster found for name: dev.',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      eks.send(new DescribeNodegroupCommand({ clusterName: 'prod', nodegroupName: 'ng-z' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      clients(sim.url, OUTSIDER_KEY).eks.send(new ListNodegroupsCommand({ clusterName: 'prod' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('DescribeAutoScalingGroups lists the instances of the named groups and skips unknown names', async () => {
    const out = await clients(sim.url, sim.world.server).autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['eks-ng-a-1', 'missing', 'eks-ng-b-2'] }),
    );
    expect(out.AutoScalingGroups?.map((g) => g.AutoScalingGroupName)).toEqual(['eks-ng-a-1', 'eks-ng-b-2']);
    expect(out.AutoScalingGroups?.[0]?.Instances).toEqual([
      expect.objectContaining({
        InstanceId: 'i-0b22a22eec53b9321',
        AvailabilityZone: 'us-east-1b',
        LifecycleState: 'InService',
        HealthStatus: 'Healthy',
      }),
    ]);
    expect(out.AutoScalingGroups?.[1]?.Instances).toEqual([]);
    expect(out.AutoScalingGroups?.[0]?.AutoScalingGroupARN).toContain(`:${SERVER_ACCOUNT}:autoScalingGroup:`);
  });

  it('DescribeAutoScalingGroups pages with MaxRecords and NextToken', async () => {
    const { autoScaling } = clients(sim.url, sim.world.server);
    const first = await autoScaling.send(new DescribeAutoScalingGroupsCommand({ MaxRecords: 2 }));
    expect(first.AutoScalingGroups).toHaveLength(2);
    const second = await autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ MaxRecords: 2, NextToken: first.NextToken }),
    );
    expect(second.AutoScalingGroups).toHaveLength(1);
    expect(second.NextToken).toBeUndefined();
  });
});
