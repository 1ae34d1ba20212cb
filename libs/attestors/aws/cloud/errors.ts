import { DependencyUnavailable } from '../../attestor';
import type { CloudStats } from './stats';

/** Where a call went, for the operator's message. */
export interface CallSite {
  service: string;
  operation: string;
  region: string;
  /** the account acted in, or a role ARN: whatever tells the operator which identity was used */
  target?: string;
}

/**
 * Runs one AWS API call (the SDK retries inside it, bounded) and counts it.
 * `expected` turns an error that is an answer (an unknown instance, a deleted
 * instance profile) into a value. Anything else becomes DependencyUnavailable:
 * the server could not verify, so the login fails closed with 503 — never a
 * proof rejection (the agent did nothing wrong) and never a 500 (not a bug).
 * A DependencyUnavailable raised while resolving credentials (AssumeRole
 * refused) passes through unchanged: it already names the role.
 */
export async function awsCall<T>(
  stats: CloudStats,
  site: CallSite,
  send: () => Promise<T>,
  expected?: (error: unknown) => T | undefined,
): Promise<T> {
  try {
    const result = await send();
    stats.request(site.service, site.operation, 'success');
    return result;
  } catch (error) {
    if (error instanceof DependencyUnavailable) throw error;
    const handled = expected?.(error);
    if (handled !== undefined) {
      stats.request(site.service, site.operation, 'success');
      return handled;
    }
    stats.request(site.service, site.operation, 'failure');
    throw new DependencyUnavailable(unavailableMessage(site, error));
  }
}

/** `aws: ec2:DescribeInstances unavailable in us-east-1 (account 111111111111): RequestLimitExceeded: … after 3 attempts` */
export function unavailableMessage(site: CallSite, error: unknown): string {
  const verb = isRefusal(error) ? 'refused' : 'unavailable';
  const target = site.target ? ` (${site.target})` : '';
  const attempts = (error as { $metadata?: { attempts?: number } })?.$metadata?.attempts;
  return `aws: ${site.service}:${site.operation} ${verb} in ${site.region}${target}: ${describe(error)}${attempts && attempts > 1 ? ` after ${attempts} attempts` : ''}`;
}

/** The AWS error code (`InvalidInstanceID.NotFound`, `Throttling`, `ECONNRESET`, ...). */
export function errorName(error: unknown): string {
  const e = error as { name?: unknown; Code?: unknown; code?: unknown } | null | undefined;
  return String(e?.Code ?? e?.name ?? e?.code ?? '');
}

/**
 * A 4xx that is not throttling: AWS answered and said no (missing permission,
 * an untrusted role). Still fail-closed, but worded so the operator looks at
 * IAM rather than at the network.
 */
function isRefusal(error: unknown): boolean {
  const e = error as
    { $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } } | null | undefined;
  const status = e?.$metadata?.httpStatusCode;
  const throttling =
    e?.$retryable?.throttling === true || /Throttl|RequestLimitExceeded|TooManyRequests/i.test(errorName(error));
  return status !== undefined && status >= 400 && status < 500 && !throttling;
}

function describe(error: unknown): string {
  const name = errorName(error);
  const message = String((error as { message?: unknown })?.message ?? error)
    .replace(/\s+/g, ' ')
    .slice(0, 300);
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}

/**
 * The ids an EC2 error message names, among those asked
 * (`The instance IDs 'i-1, i-2' do not exist`, `Invalid id: "web-1"`).
 */
export function idsNamedIn(error: unknown, asked: readonly string[]): string[] {
  const words = new Set(String((error as { message?: unknown })?.message ?? '').match(/[\w.-]+/g) ?? []);
  return asked.filter((id) => words.has(id));
}
