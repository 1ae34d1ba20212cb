import {
  AwsError,
  Ec2Protocol,
  formParams,
  leaf,
  list,
  node,
  numberedList,
  type ServiceHandler,
  type ServiceRequest,
} from '../protocol';
import { INSTANCE_STATE_CODES, type Instance, type World } from '../world';

// EC2 (ec2Query protocol): DescribeInstances, by InstanceId.N or the
// `instance-id` filter, scoped to the caller's account and the signing region.

const protocol = new Ec2Protocol();
const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

function renderInstance(i: Instance): string {
  const groups = list('groupSet', i.securityGroups, (g) => leaf('groupId', g.id) + leaf('groupName', g.name), 'item');
  const rootEbs =
    i.rootDeviceType === 'ebs'
      ? list(
          'blockDeviceMapping',
          [i],
          (x) =>
            leaf('deviceName', x.rootDeviceName) +
            node(
              'ebs',
              leaf('volumeId', x.volumeId),
              leaf('status', 'attached'),
              leaf('attachTime', x.rootDeviceAttachTime),
              leaf('deleteOnTermination', true),
            ),
          'item',
        )
      : node('blockDeviceMapping');
  const eni = list(
    'networkInterfaceSet',
    [i],
    (x) =>
      leaf('networkInterfaceId', x.networkInterfaceId) +
      leaf('subnetId', x.subnetId) +
      leaf('vpcId', x.vpcId) +
      leaf('description', '') +
      leaf('ownerId', x.accountId) +
      leaf('status', 'in-use') +
      leaf('privateIpAddress', x.privateIp) +
      leaf('privateDnsName', x.privateDnsName) +
      leaf('sourceDestCheck', true) +
      groups +
      node(
        'attachment',
        leaf('attachmentId', `eni-attach-${x.networkInterfaceId.slice(4)}`),
        leaf('deviceIndex', 0),
        leaf('networkCardIndex', 0),
        leaf('status', 'attached'),
        leaf('attachTime', x.networkInterfaceAttachTime),
        leaf('deleteOnTermination', true),
      ) +
      list(
        'privateIpAddressesSet',
        [x],
        (y) => leaf('privateIpAddress', y.privateIp) + leaf('privateDnsName', y.privateDnsName) + leaf('primary', true),
        'item',
      ) +
      leaf('interfaceType', 'interface'),
    'item',
  );
  const running = i.state === 'running';
  return (
    leaf('instanceId', i.instanceId) +
    leaf('imageId', i.imageId) +
    node('instanceState', leaf('code', INSTANCE_STATE_CODES[i.state]), leaf('name', i.state)) +
    leaf('privateDnsName', i.privateDnsName) +
    leaf('dnsName', null) +
    leaf('reason', running ? null : i.state === 'stopped' ? 'User initiated' : null) +
    leaf('amiLaunchIndex', 0) +
    node('productCodes') +
    leaf('instanceType', i.instanceType) +
    leaf('launchTime', i.launchTime) +
    node(
      'placement',
      leaf('availabilityZone', i.availabilityZone),
      leaf('groupName', null),
      leaf('tenancy', 'default'),
    ) +
    node('monitoring', leaf('state', 'disabled')) +
    leaf('subnetId', i.subnetId) +
    leaf('vpcId', i.vpcId) +
    leaf('privateIpAddress', i.privateIp) +
    leaf('sourceDestCheck', true) +
    groups +
    leaf('architecture', i.architecture) +
    leaf('rootDeviceType', i.rootDeviceType) +
    leaf('rootDeviceName', i.rootDeviceName) +
    rootEbs +
    leaf('virtualizationType', 'hvm') +
    leaf('clientToken', null) +
    (Object.keys(i.tags).length > 0
      ? list('tagSet', Object.entries(i.tags), ([k, v]) => leaf('key', k) + leaf('value', v), 'item')
      : '') +
    leaf('hypervisor', 'xen') +
    eni +
    (i.iamInstanceProfileArn
      ? node(
          'iamInstanceProfile',
          leaf('arn', i.iamInstanceProfileArn),
          leaf('id', `AIPA${i.instanceId.slice(2, 19).toUpperCase()}`),
        )
      : '') +
    leaf('ebsOptimized', false) +
    leaf('enaSupport', true)
  );
}

function notFound(ids: string[]): AwsError {
  return ids.length === 1
    ? new AwsError('InvalidInstanceID.NotFound', `The instance ID '${ids[0]}' does not exist`)
    : new AwsError('InvalidInstanceID.NotFound', `The instance IDs '${ids.join(', ')}' do not exist`);
}

function describeInstances(req: ServiceRequest, world: World): string {
  const params = formParams(req);
  const ids = numberedList(params, 'InstanceId');
  // The `instance-id` filter narrows without raising NotFound, as in AWS.
  let filterIds: string[] | undefined;
  for (let n = 1; params.has(`Filter.${n}.Name`); n++) {
    const name = params.get(`Filter.${n}.Name`);
    if (name !== 'instance-id')
      throw new AwsError('InvalidParameterValue', `aws-simulator: unsupported filter '${name}'`);
    filterIds = [...(filterIds ?? []), ...numberedList(params, `Filter.${n}.Value`)];
  }
  for (const id of ids)
    if (!INSTANCE_ID.test(id)) throw new AwsError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  const visible = (id: string): Instance | undefined => {
    const i = world.getInstance(id);
    return i && i.accountId === req.caller.accountId && i.region === req.region ? i : undefined;
  };
  let found: Instance[];
  if (ids.length > 0) {
    const missing = ids.filter((id) => !visible(id));
    if (missing.length > 0) throw notFound(missing);
    found = [...new Set(ids)].map((id) => visible(id) as Instance);
  } else {
    found = world.listInstances(req.caller.accountId, req.region);
  }
  if (filterIds) found = found.filter((i) => filterIds.includes(i.instanceId));
  const reservations = new Map<string, Instance[]>();
  for (const i of found) reservations.set(i.reservationId, [...(reservations.get(i.reservationId) ?? []), i]);
  return list(
    'reservationSet',
    [...reservations.entries()],
    // a reservation is made by its first instance, so none is empty
    ([rid, instances]) =>
      leaf('reservationId', rid) +
      leaf('ownerId', instances[0]!.accountId) +
      node('groupSet') +
      list('instancesSet', instances, renderInstance, 'item'),
    'item',
  );
}

export const ec2Service: ServiceHandler = {
  name: 'ec2',
  operation: (req) => protocol.operation(req),
  params: (req) => protocol.params(req),
  error: (err, id) => protocol.error(err, id),
  throttlingError: () => new AwsError('RequestLimitExceeded', 'Request limit exceeded.', 503),
  handle(req, world) {
    const action = protocol.operation(req);
    switch (action) {
      case 'DescribeInstances':
        return protocol.respond(action, describeInstances(req, world), req.requestId);
      default:
        throw new AwsError('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  },
};
