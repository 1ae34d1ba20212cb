import {
  AwsError,
  decodeToken,
  encodeToken,
  Json11Protocol,
  page,
  parseJsonBody,
  type ServiceHandler,
  type ServiceRequest,
} from '../protocol';
import type { World } from '../world';

// Organizations (awsJson1_1, target prefix AWSOrganizationsV20161128):
// ListAccounts with NextToken pagination. Only the management account may
// call it, and only from an allowed role when the organization names some.

const protocol = new Json11Protocol('AWSOrganizationsV20161128');
/** ListAccounts' largest MaxResults (and our default page). */
const MAX_RESULTS = 20;

function listAccounts(req: ServiceRequest, world: World): unknown {
  const body = parseJsonBody(req);
  const org = world.organizationOf(req.caller.accountId);
  if (!org) throw new AwsError('AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.');
  const allowedRole =
    org.listAccountsRoleArns === undefined ||
    (req.caller.roleArn !== undefined && org.listAccountsRoleArns.includes(req.caller.roleArn));
  if (req.caller.accountId !== org.managementAccountId || !allowedRole) {
    throw new AwsError('AccessDeniedException', "You don't have permissions to access this resource.");
  }
  const max = body.MaxResults === undefined ? MAX_RESULTS : body.MaxResults;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_RESULTS) {
    throw new AwsError('InvalidInputException', 'You provided a value that does not match the required pattern.');
  }
  let offset = 0;
  if (body.NextToken !== undefined) {
    const o = typeof body.NextToken === 'string' ? decodeToken(`org:${org.id}`, body.NextToken) : undefined;
    if (o === undefined) throw new AwsError('InvalidInputException', 'You specified an invalid value for nextToken.');
    offset = o;
  }
  const accounts = world.organizationAccounts(org);
  const { items, next } = page(accounts, offset, max);
  return {
    Accounts: items.map((a) => ({
      Id: a.id,
      Arn: `arn:aws:organizations::${org.managementAccountId}:account/${org.id}/${a.id}`,
      Email: a.email,
      Name: a.name,
      Status: a.status,
      State: a.status,
      JoinedMethod: a.id === org.managementAccountId ? 'CREATED' : 'INVITED',
      JoinedTimestamp: a.joinedTimestamp.getTime() / 1000,
    })),
    ...(next === undefined ? {} : { NextToken: encodeToken(`org:${org.id}`, next) }),
  };
}

export const organizationsService: ServiceHandler = {
  name: 'organizations',
  operation: (req) => protocol.operation(req),
  params: (req) => protocol.params(req),
  error: (err, id) => protocol.error(err, id),
  throttlingError: () =>
    new AwsError(
      'TooManyRequestsException',
      "AWS Organizations can't complete your request because another request is already in progress.",
    ),
  handle(req, world) {
    const op = protocol.operation(req);
    switch (op) {
      case 'ListAccounts':
        return protocol.respond(listAccounts(req, world), req.requestId);
      default:
        throw new AwsError('UnknownOperationException', `aws-simulator: unsupported operation ${op}`);
    }
  },
};
