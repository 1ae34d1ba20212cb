import type { ProofCollector } from './collector';

export interface AzureMsiSettings {
  /** Azure IMDS base URL; default http://169.254.169.254 */
  azureImdsEndpoint?: string;
  /** the resource (audience) the token is asked for: the policy tenant's `resourceId`; default ARM's */
  azureResource?: string;
}

const DEFAULT_IMDS = 'http://169.254.169.254';
const DEFAULT_RESOURCE = 'https://management.azure.com/';
const API_VERSION = '2018-02-01';
const TIMEOUT_MS = 5_000;

/**
 * `azure_msi`: an access token of the VM's managed identity from Azure IMDS
 * (`/metadata/identity/oauth2/token`, `Metadata: true`), sent as the proof.
 * Errors never include the token.
 */
export function azureMsiCollector(settings: AzureMsiSettings): ProofCollector {
  const base = (settings.azureImdsEndpoint ?? DEFAULT_IMDS).replace(/\/+$/, '');
  const resource = settings.azureResource ?? DEFAULT_RESOURCE;
  return {
    type: 'azure_msi',
    async collect() {
      const url = `${base}/metadata/identity/oauth2/token?${new URLSearchParams({ 'api-version': API_VERSION, resource })}`;
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { Metadata: 'true' },
          redirect: 'error',
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        throw new Error(
          `azure_msi: cannot reach the instance metadata service at ${new URL(url).origin}: ${(error as Error).message}`,
        );
      }
      const body = (await response.json().catch(() => null)) as {
        access_token?: unknown;
        error?: unknown;
        error_description?: unknown;
      } | null;
      if (!response.ok) {
        const why = typeof body?.error_description === 'string' ? `: ${body.error_description.slice(0, 200)}` : '';
        throw new Error(`azure_msi: instance metadata service answered ${response.status}${why}`);
      }
      if (typeof body?.access_token !== 'string' || body.access_token === '')
        throw new Error('azure_msi: instance metadata service sent no access_token');
      return { token: body.access_token };
    },
  };
}
