import {
  AwsError,
  decodeToken,
  escapeXml,
  encodeToken,
  formParams,
  leaf,
  list,
  node,
  numberedList,
  page,
  QueryProtocol,
  type ServiceHandler,
  type ServiceRequest,
} from '../protocol';
import type { AutoScalingGroupInit, World } from '../world';

// Auto Scaling (awsQuery protocol): DescribeAutoScalingGroups by
// AutoScalingGroupNames.member.N (unknown names are skipped, as AWS does),
// with MaxRecords/NextToken, in the caller's account and the signing region.

const protocol = new QueryProtocol('2011-01-01', 'http://autoscaling.amazonaws.com/doc/2011-01-01/');
const CREATED = new Date('2020-01-01T00:00:00Z');

function renderGroup(g: AutoScalingGroupInit, world: World): string {
  const instances = g.instanceIds.map((id) => ({ id, instance: world.getInstance(id) }));
  const zones = [...new Set(instances.map((x) => x.instance?.availabilityZone ?? `${g.region}a`))];
  return (
    leaf('AutoScalingGroupName', g.name) +
    leaf(
      'AutoScalingGroupARN',
      `arn:aws:autoscaling:${g.region}:${g.accountId}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${g.name}`,
    ) +
    leaf('MinSize', 0) +
    leaf('MaxSize', Math.max(instances.length, 1)) +
    leaf('DesiredCapacity', instances.length) +
    leaf('DefaultCooldown', 300) +
    list('AvailabilityZones', zones, (z) => escapeXml(z), 'member') +
    node('LoadBalancerNames') +
    node('TargetGroupARNs') +
    leaf('HealthCheckType', 'EC2') +
    leaf('HealthCheckGracePeriod', 300) +
    list(
      'Instances',
      instances,
      ({ id, instance }) =>
        leaf('InstanceId', id) +
        leaf('InstanceType', instance?.instanceType ?? 't3.medium') +
        leaf('AvailabilityZone', instance?.availabilityZone ?? `${g.region}a`) +
        leaf('LifecycleState', 'InService') +
        leaf('HealthStatus', 'Healthy') +
        leaf('ProtectedFromScaleIn', false),
      'member',
    ) +
    leaf('CreatedTime', CREATED) +
    node('SuspendedProcesses') +
    node('EnabledMetrics') +
    node('Tags') +
    node('TerminationPolicies', node('member', 'Default')) +
    leaf('NewInstancesProtectedFromScaleIn', false) +
    leaf(
      'ServiceLinkedRoleARN',
      `arn:aws:iam::${g.accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    )
  );
}

function describeAutoScalingGroups(req: ServiceRequest, world: World): string {
  const params = formParams(req);
  const names = numberedList(params, 'AutoScalingGroupNames.member');
  const all =
    names.length > 0
      ? [...new Set(names)].flatMap((n) => world.getAutoScalingGroup(req.caller.accountId, req.region, n) ?? [])
      : world.listAutoScalingGroups(req.caller.accountId, req.region);
  const max = params.has('MaxRecords') ? Number(params.get('MaxRecords')) : 50;
  if (!Number.isInteger(max) || max < 1 || max > 100)
    throw new AwsError('ValidationError', 'MaxRecords must be between 1 and 100.');
  const scope = `asg:${req.caller.accountId}/${req.region}/${names.join(',')}`;
  const token = params.get('NextToken');
  const offset = token === null ? 0 : decodeToken(scope, token);
  if (offset === undefined) throw new AwsError('InvalidNextToken', 'The token provided is not valid.');
  const { items, next } = page(all, offset, max);
  return (
    list('AutoScalingGroups', items, (g) => renderGroup(g, world), 'member') +
    (next === undefined ? '' : leaf('NextToken', encodeToken(scope, next)))
  );
}

export const autoScalingService: ServiceHandler = {
  name: 'autoscaling',
  operation: (req) => protocol.operation(req),
  params: (req) => protocol.params(req),
  error: (err, id) => protocol.error(err, id),
  throttlingError: () => new AwsError('Throttling', 'Rate exceeded'),
  handle(req, world) {
    const action = protocol.operation(req);
    switch (action) {
      case 'DescribeAutoScalingGroups':
        return protocol.respond(action, describeAutoScalingGroups(req, world), req.requestId);
      default:
        throw new AwsError('InvalidAction', `Could not find operation ${action} for version ${protocol.version}`);
    }
  },
};
