import {
  AwsError,
  decodeToken,
  encodeToken,
  page,
  RestJson,
  type RawRequest,
  type ServiceHandler,
  type ServiceRequest,
} from '../protocol';
import type { World } from '../world';

// EKS (restJson1): ListNodegroups `GET /clusters/{name}/node-groups` and
// DescribeNodegroup `GET /clusters/{name}/node-groups/{ng}`, in the caller's
// account and the signing region.

interface Route {
  operation: 'ListNodegroups' | 'DescribeNodegroup';
  cluster: string;
  nodegroup?: string;
}

function route(req: RawRequest): Route | undefined {
  if (req.method !== 'GET') return undefined;
  const m = /^\/clusters\/([^/]+)\/node-groups(?:\/([^/]+))?\/?$/.exec(req.path);
  if (!m) return undefined;
  const cluster = decodeURIComponent(m[1]!); // the first group is not optional
  return m[2] === undefined
    ? { operation: 'ListNodegroups', cluster }
    : { operation: 'DescribeNodegroup', cluster, nodegroup: decodeURIComponent(m[2]) };
}

function cluster(req: ServiceRequest, world: World, name: string) {
  const c = world.getEksCluster(req.caller.accountId, req.region, name);
  if (!c) throw new AwsError('ResourceNotFoundException', `No cluster found for name: ${name}.`, 404);
  return c;
}

function listNodegroups(req: ServiceRequest, world: World, name: string): unknown {
  const c = cluster(req, world, name);
  const maxParam = req.query.get('maxResults');
  const max = maxParam === null ? 100 : Number(maxParam);
  if (!Number.isInteger(max) || max < 1 || max > 100)
    throw new AwsError('InvalidParameterException', 'maxResults must be between 1 and 100.');
  const scope = `eks:${c.accountId}/${c.region}/${c.name}`;
  const token = req.query.get('nextToken');
  const offset = token === null ? 0 : decodeToken(scope, token);
  if (offset === undefined) throw new AwsError('InvalidParameterException', 'The nextToken is not valid.');
  const { items, next } = page(
    c.nodeGroups.map((g) => g.name),
    offset,
    max,
  );
  return { nodegroups: items, ...(next === undefined ? {} : { nextToken: encodeToken(scope, next) }) };
}

function describeNodegroup(req: ServiceRequest, world: World, name: string, nodegroup: string): unknown {
  const c = cluster(req, world, name);
  const g = c.nodeGroups.find((x) => x.name === nodegroup);
  if (!g) throw new AwsError('ResourceNotFoundException', `No node group found for name: ${nodegroup}.`, 404);
  const created = Date.UTC(2020, 0, 1) / 1000;
  return {
    nodegroup: {
      nodegroupName: g.name,
      nodegroupArn: `arn:aws:eks:${c.region}:${c.accountId}:nodegroup/${c.name}/${g.name}/00000000-0000-0000-0000-000000000000`,
      clusterName: c.name,
      version: '1.31',
      status: 'ACTIVE',
      capacityType: 'ON_DEMAND',
      createdAt: created,
      modifiedAt: created,
      scalingConfig: { minSize: 1, maxSize: 3, desiredSize: 1 },
      instanceTypes: ['t3.medium'],
      subnets: [],
      amiType: 'AL2023_x86_64_STANDARD',
      nodeRole: `arn:aws:iam::${c.accountId}:role/eks-node-role`,
      labels: {},
      resources: { autoScalingGroups: g.autoScalingGroupNames.map((n) => ({ name: n })) },
      health: { issues: [] },
      tags: {},
    },
  };
}

export const eksService: ServiceHandler = {
  name: 'eks',
  operation: (req) => route(req)?.operation ?? 'unknown',
  params(req) {
    const r = route(req);
    return {
      ...(r ? { clusterName: r.cluster, ...(r.nodegroup ? { nodegroupName: r.nodegroup } : {}) } : {}),
      ...Object.fromEntries(req.query),
    };
  },
  error: (err, id) => RestJson.error(err, id),
  throttlingError: () => new AwsError('ThrottlingException', 'Rate exceeded', 429),
  handle(req, world) {
    const r = route(req);
    if (!r)
      throw new AwsError(
        'UnknownOperationException',
        `aws-simulator: no EKS operation at ${req.method} ${req.path}`,
        404,
      );
    const value =
      r.operation === 'ListNodegroups'
        ? listNodegroups(req, world, r.cluster)
        : describeNodegroup(req, world, r.cluster, r.nodegroup as string);
    return RestJson.respond(value, req.requestId);
  },
};
