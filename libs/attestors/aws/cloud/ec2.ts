import type { Instance } from '@aws-sdk/client-ec2';
import type { Ec2Instance } from '../ports';
import type { AwsClients, Identity } from './clients';
import { awsCall, errorName, idsNamedIn } from './errors';
import type { CloudStats } from './stats';

/** EC2 errors that name ids it will not describe; the other ids of the call are fine. */
const UNKNOWN_ID_ERRORS = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);

type Answer = { found: Instance[] } | { unknown: string[] };

/**
 * `ec2:DescribeInstances` for many ids of one account and region, as the
 * batcher sends it. Real EC2 fails the WHOLE call with
 * `InvalidInstanceID.NotFound` when any id is unknown (a terminated
 * instance's document, a forged id), naming the unknown ids in its message:
 * those are answered "not found" and the rest asked again, so one bad
 * document cannot fail the logins batched with it. If EC2 names none of the
 * ids asked, the batch is split in halves until the unknown ones are alone.
 * Each retry asks strictly fewer ids, so this ends.
 */
export async function describeInstances(
  clients: AwsClients,
  stats: CloudStats,
  where: { accountId: string; region: string; identity: Identity },
  instanceIds: string[],
): Promise<Map<string, Instance>> {
  const { client: ec2, sdk } = await clients.get('ec2', where.region, where.identity);
  const site = {
    service: 'ec2',
    operation: 'DescribeInstances',
    region: where.region,
    target: `account ${where.accountId}`,
  };
  const ask = (ids: string[]): Promise<Answer> =>
    awsCall<Answer>(
      stats,
      site,
      async () => {
        const answer = await ec2.send(new sdk.DescribeInstancesCommand({ InstanceIds: ids }));
        // the account check is belt and braces: ids are unique across accounts
        const reservations = (answer.Reservations ?? []).filter(
          (r) => r.OwnerId === undefined || r.OwnerId === where.accountId,
        );
        return { found: reservations.flatMap((r) => r.Instances ?? []) };
      },
      (error) => (UNKNOWN_ID_ERRORS.has(errorName(error)) ? { unknown: idsNamedIn(error, ids) } : undefined),
    );

  const found = new Map<string, Instance>();
  const describe = async (ids: string[]): Promise<void> => {
    let asking = ids;
    while (asking.length > 0) {
      const answer = await ask(asking);
      if ('found' in answer) {
        for (const instance of answer.found)
          if (instance.InstanceId && asking.includes(instance.InstanceId)) found.set(instance.InstanceId, instance);
        return;
      }
      if (answer.unknown.length > 0) {
        asking = asking.filter((id) => !answer.unknown.includes(id));
        continue;
      }
      if (asking.length === 1) return; // the one id asked is the unknown one
      const half = Math.ceil(asking.length / 2);
      await Promise.all([describe(asking.slice(0, half)), describe(asking.slice(half))]);
      return;
    }
  };
  await describe(instanceIds);
  return found;
}

/** The port's view of an instance: what the attestor's steps 5–7 and its attributes need. */
export function toEc2Instance(instance: Instance): Ec2Instance {
  const root = instance.BlockDeviceMappings?.find((mapping) => mapping.DeviceName === instance.RootDeviceName);
  const primary = instance.NetworkInterfaces?.find((eni) => eni.Attachment?.DeviceIndex === 0);
  return {
    instanceId: instance.InstanceId ?? '',
    state: instance.State?.Name ?? 'unknown',
    ...(instance.PrivateDnsName && { privateDnsName: instance.PrivateDnsName }),
    tags: Object.fromEntries(
      (instance.Tags ?? []).flatMap((tag) => (tag.Key !== undefined ? [[tag.Key, tag.Value ?? '']] : [])),
    ),
    securityGroups: (instance.SecurityGroups ?? []).map((group) => ({
      id: group.GroupId ?? '',
      name: group.GroupName ?? '',
    })),
    ...(instance.IamInstanceProfile?.Arn && { instanceProfileArn: instance.IamInstanceProfile.Arn }),
    rootDeviceType: instance.RootDeviceType === 'instance-store' ? 'instance-store' : 'ebs',
    ...(root?.Ebs?.AttachTime && { rootVolumeAttachTime: root.Ebs.AttachTime }),
    ...(primary?.Attachment?.AttachTime && { primaryInterfaceAttachTime: primary.Attachment.AttachTime }),
  };
}
