import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ProofRejected } from '../attestor';

export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
  principalType: 'assumed-role' | 'user' | 'root' | 'federated-user';
  roleName?: string;
  sessionName?: string;
  userName?: string;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: () => true,
  processEntities: false,
});

function reject(reason: string): never {
  throw new ProofRejected(`aws_iam: ${reason}`);
}

/**
 * Step 3's strict reading of STS's answer: exactly one
 * GetCallerIdentityResponse/GetCallerIdentityResult with one Arn, Account
 * and UserId, the ARN's account equal to Account.
 */
export function parseCallerIdentity(xml: string): CallerIdentity {
  if (XMLValidator.validate(xml) !== true) reject('STS answered with malformed XML');
  const document = parser.parse(xml) as Record<string, unknown[]>;
  const roots = Object.keys(document).filter((k) => k !== '?xml');
  if (roots.length !== 1 || roots[0] !== 'GetCallerIdentityResponse')
    reject('STS did not answer with a GetCallerIdentityResponse');
  const response = one(document.GetCallerIdentityResponse, 'GetCallerIdentityResponse');
  const result = one(response.GetCallerIdentityResult, 'GetCallerIdentityResult');
  const arn = text(result.Arn, 'Arn');
  const account = text(result.Account, 'Account');
  const userId = text(result.UserId, 'UserId');
  if (!/^[0-9]{12}$/.test(account)) reject('STS answered with a malformed Account');
  return { account, arn, userId, ...principalOf(arn, account) };
}

function one(value: unknown, name: string): Record<string, unknown[]> {
  if (!Array.isArray(value) || value.length !== 1 || typeof value[0] !== 'object' || value[0] === null)
    reject(`STS answer must hold exactly one ${name}`);
  return value[0] as Record<string, unknown[]>;
}

function text(value: unknown, name: string): string {
  if (
    !Array.isArray(value) ||
    value.length !== 1 ||
    typeof value[0] !== 'string' ||
    value[0].length === 0 ||
    value[0].length > 2048
  )
    reject(`STS answer must hold exactly one ${name}`);
  return value[0];
}

/** What kind of principal signed, from the ARN STS returned. */
function principalOf(
  arn: string,
  account: string,
): Pick<CallerIdentity, 'principalType' | 'roleName' | 'sessionName' | 'userName'> {
  const match = /^arn:aws(?:-cn|-us-gov)?:(sts|iam)::([0-9]{12}):(.+)$/.exec(arn);
  if (!match || match[2] !== account) reject('STS answered with an ARN that does not match its Account');
  const [, service, , resource] = match;
  const parts = resource!.split('/');
  if (service === 'sts' && parts[0] === 'assumed-role' && parts.length === 3)
    return { principalType: 'assumed-role', roleName: parts[1]!, sessionName: parts[2]! };
  if (service === 'sts' && parts[0] === 'federated-user' && parts.length === 2)
    return { principalType: 'federated-user' };
  if (service === 'iam' && resource === 'root') return { principalType: 'root' };
  if (service === 'iam' && parts[0] === 'user' && parts.length >= 2)
    return { principalType: 'user', userName: parts[parts.length - 1]! };
  reject(`STS answered with an ARN of an unknown principal type`);
}
