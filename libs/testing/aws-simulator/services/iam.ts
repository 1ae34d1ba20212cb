import { AwsError, formParams, leaf, list, node, QueryProtocol, type ServiceHandler } from '../protocol';
import { parseIamArn, type World } from '../world';

// IAM (awsQuery protocol): GetInstanceProfile, in the caller's account.

const protocol = new QueryProtocol('2010-05-08', 'https://iam.amazonaws.com/doc/2010-05-08/');
const CREATED = new Date('2020-01-01T00:00:00Z');

function getInstanceProfile(name: string, accountId: string, world: World): string {
  const profile = world.findInstanceProfile(accountId, name);
  if (!profile) throw new AwsError('NoSuchEntity', `Instance Profile ${name} cannot be found.`, 404);
  const roles = list(
    'Roles',
    profile.roleArns,
    (arn) => {
      const { name: roleName, path } = parseIamArn(arn);
      const role = world.getRole(arn);
      const trust = encodeURIComponent(
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        }),
      );
      return (
        leaf('Path', path) +
        leaf('Arn', arn) +
        leaf('RoleName', roleName) +
        leaf('AssumeRolePolicyDocument', trust) +
        leaf('CreateDate', CREATED) +
        leaf('RoleId', role?.roleId ?? 'AROAUNKNOWNROLE00000')
      );
    },
    'member',
  );
  return node(
    'InstanceProfile',
    leaf('InstanceProfileId', profile.instanceProfileId),
    roles,
    leaf('InstanceProfileName', profile.name),
    leaf('Path', profile.path),
    leaf('Arn', profile.arn),
    leaf('CreateDate', CREATED),
  );
}

export const iamService: ServiceHandler = {
  name: 'iam',
  operation: (req) => protocol.operation(req),
  params: (req) => protocol.params(req),
  error: (err, id) => protocol.error(err, id),
  throttlingError: () => new AwsError('Throttling', 'Rate exceeded'),
  handle(req, world) {
    const params = formParams(req);
    const action = params.get('Action') ?? '';
    switch (action) {
      case 'GetInstanceProfile': {
        const name = params.get('InstanceProfileName');
        if (!name)
          throw new AwsError(
            'ValidationError',
            "1 validation error detected: Value null at 'instanceProfileName' failed to satisfy constraint: Member must not be null",
          );
        return protocol.respond(action, getInstanceProfile(name, req.caller.accountId, world), req.requestId);
      }
      default:
        throw new AwsError('InvalidAction', `Could not find operation ${action} for version ${protocol.version}`);
    }
  },
};
