import { AwsError, formParams, leaf, node, QueryProtocol, type ServiceHandler, type ServiceRequest } from '../protocol';
import type { World } from '../world';

// STS (awsQuery protocol): GetCallerIdentity (also in the presigned form
// agents send: any signed request is verified the same way) and AssumeRole,
// which checks the role's trust list and issues expiring session credentials.

const protocol = new QueryProtocol('2011-06-15', 'https://sts.amazonaws.com/doc/2011-06-15/');
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

function assumeRole(req: ServiceRequest, world: World): string {
  const params = formParams(req);
  const roleArn = params.get('RoleArn');
  const sessionName = params.get('RoleSessionName');
  if (!roleArn || !sessionName) {
    const missing = !roleArn ? 'roleArn' : 'roleSessionName';
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value null at '${missing}' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (!SESSION_NAME.test(sessionName)) {
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  }
  const duration = params.has('DurationSeconds') ? Number(params.get('DurationSeconds')) : 3600;
  const role = world.getRole(roleArn);
  const denied = new AwsError(
    'AccessDenied',
    `User: ${req.caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    403,
  );
  if (!role || !world.trusts(role, req.caller)) throw denied;
  if (!Number.isInteger(duration) || duration < 900 || duration > role.maxSessionDurationSeconds) {
    throw new AwsError(
      'ValidationError',
      `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
    );
  }
  const s = world.issueSession(roleArn, sessionName, duration);
  return (
    node('AssumedRoleUser', leaf('AssumedRoleId', s.principal.userId), leaf('Arn', s.principal.arn)) +
    node(
      'Credentials',
      leaf('AccessKeyId', s.accessKeyId),
      leaf('SecretAccessKey', s.secretAccessKey),
      leaf('SessionToken', s.sessionToken),
      leaf('Expiration', s.expiration),
    )
  );
}

export const stsService: ServiceHandler = {
  name: 'sts',
  operation: (req) => protocol.operation(req),
  params: (req) => protocol.params(req),
  error: (err, id) => protocol.error(err, id),
  throttlingError: () => new AwsError('Throttling', 'Rate exceeded'),
  handle(req, world) {
    const params = formParams(req);
    const action = params.get('Action') ?? '';
    if (params.get('Version') !== protocol.version) {
      throw new AwsError(
        'InvalidAction',
        `Could not find operation ${action} for version ${params.get('Version') ?? 'NO_VERSION_SPECIFIED'}`,
      );
    }
    switch (action) {
      case 'GetCallerIdentity':
        return protocol.respond(
          action,
          leaf('Arn', req.caller.arn) + leaf('UserId', req.caller.userId) + leaf('Account', req.caller.accountId),
          req.requestId,
        );
      case 'AssumeRole':
        return protocol.respond(action, assumeRole(req, world), req.requestId);
      default:
        throw new AwsError('InvalidAction', `Could not find operation ${action} for version ${protocol.version}`);
    }
  },
};
