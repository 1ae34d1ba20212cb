import { DescribeInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import type { AwsClients } from './clients';
import { describeInstances } from './ec2';
import { NO_STATS } from './stats';

/**
 * A fake EC2 client (the simulator always names the unknown ids, as EC2
 * does; this one can be told not to), failing the whole call like EC2.
 */
function fakeEc2(known: string[], options: { namesUnknownIds: boolean }) {
  const calls: string[][] = [];
  const client = {
    send: async (command: { input: { InstanceIds: string[] } }) => {
      const ids = command.input.InstanceIds;
      calls.push(ids);
      const unknown = ids.filter((id) => !known.includes(id));
      if (unknown.length > 0) {
        throw Object.assign(
          new Error(
            options.namesUnknownIds
              ? `The instance IDs '${unknown.join(', ')}' do not exist`
              : 'Some instance does not exist',
          ),
          {
            name: 'InvalidInstanceID.NotFound',
            $metadata: { httpStatusCode: 400 },
          },
        );
      }
      return {
        Reservations: [{ OwnerId: '111111111111', Instances: ids.map((id): Instance => ({ InstanceId: id })) }],
      };
    },
  };
  const clients = { get: async () => ({ client, sdk: { DescribeInstancesCommand } }) } as unknown as AwsClients;
  return { clients, calls };
}

const where = { accountId: '111111111111', region: 'us-east-1', identity: undefined };

describe('describeInstances', () => {
  it('asks again without the ids EC2 names as unknown', async () => {
    const ec2 = fakeEc2(['i-1', 'i-2'], { namesUnknownIds: true });
    const found = await describeInstances(ec2.clients, NO_STATS, where, ['i-1', 'i-9', 'i-2']);
    expect([...found.keys()]).toEqual(['i-1', 'i-2']);
    expect(ec2.calls).toEqual([
      ['i-1', 'i-9', 'i-2'],
      ['i-1', 'i-2'],
    ]);
  });

  it('splits the batch until the unknown ids are alone when EC2 names none', async () => {
    const ec2 = fakeEc2(['i-1', 'i-2', 'i-3'], { namesUnknownIds: false });
    const found = await describeInstances(ec2.clients, NO_STATS, where, ['i-1', 'i-9', 'i-2', 'i-3']);
    expect([...found.keys()].sort()).toEqual(['i-1', 'i-2', 'i-3']);
    expect(ec2.calls.length).toBeLessThanOrEqual(7);
  });

  it('answers nothing for an id EC2 does not know, without failing', async () => {
    const ec2 = fakeEc2([], { namesUnknownIds: false });
    expect((await describeInstances(ec2.clients, NO_STATS, where, ['i-9'])).size).toBe(0);
  });
});
