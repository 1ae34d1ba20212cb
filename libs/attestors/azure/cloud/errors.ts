import { DependencyUnavailable } from '../../attestor';
import type { CloudStats } from '../../aws/cloud/stats';

/** `attestd.cloud.requests` service labels of the Azure layer. */
export const AZURE_SERVICES = { arm: 'azure-arm', entra: 'azure-entra' } as const;

/**
 * Runs one Azure call (the SDK retries inside it, bounded) and counts it.
 * A 404 is an answer (`null`: the resource does not exist); anything else
 * that fails becomes DependencyUnavailable: the server could not verify, so
 * the login fails closed with 503, never a rejection and never a 500.
 */
export async function azureCall<T>(
  stats: CloudStats,
  service: string,
  operation: string,
  send: () => Promise<T>,
): Promise<T | null> {
  try {
    const result = await send();
    stats.request(service, operation, 'success');
    return result;
  } catch (error) {
    if (statusOf(error) === 404) {
      stats.request(service, operation, 'success');
      return null;
    }
    stats.request(service, operation, 'failure');
    throw new DependencyUnavailable(`azure: ${operation} unavailable: ${describe(error)}`);
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Status, code and the first line of the message; Azure messages can be long and name request ids. */
function describe(error: unknown): string {
  const e = error as { statusCode?: number; code?: string; name?: string; message?: string } | null;
  const message = String(e?.message ?? error)
    .split('\n')[0]!
    .replace(/\s+/g, ' ')
    .slice(0, 300);
  const tags = [e?.statusCode, e?.code ?? (e?.name !== 'Error' ? e?.name : undefined)].filter((t) => t !== undefined);
  return tags.length > 0 ? `${tags.join(' ')}: ${message}` : message;
}
