import * as tls from 'node:tls';
import { RequestLog } from './request-log';
import { startHttpsServer } from './server';
import { createTlsIdentity } from './tls';
import { AzureWorld, type ServicePrincipal, type WorldInit } from './world';

// Test support: an Azure simulator (Entra ID, ARM, IMDS) the server reaches
// only through its `azure.*` settings. See README.md.

export { startAzureImds, type ImdsOptions } from './imds';
export type { RunningHttp } from './http';
export { RequestLog, type LogEntry } from './request-log';
export {
  AZURE_CLI_CLIENT_ID,
  mintAppToken,
  mintManagedIdentityToken,
  mintUserToken,
  signAsTenant,
  tenantJwks,
  type MintOptions,
} from './tokens';
export { AzureWorld } from './world';
export type * from './world';

export interface AzureSimulator {
  /** `https://127.0.0.1:<port>`: Entra (authority host) and ARM (resource-manager endpoint) */
  url: string;
  /** the simulator's self-signed certificate, trusted by this process while the simulator runs */
  certificatePem: string;
  world: AzureWorld;
  log: RequestLog;
  /** `ATTESTD_AZURE_*` settings pointing the server at the simulator, signing in as `principals` */
  settingsEnv(principals: ServicePrincipal[]): Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts the simulator and adds its certificate to this process's default
 * trusted CAs (`tls.setDefaultCACertificates`), as NODE_EXTRA_CA_CERTS would
 * for a private cloud: the server's code trusts nothing special. Restored on close.
 */
export async function startAzureSimulator(world?: WorldInit | AzureWorld): Promise<AzureSimulator> {
  const w = world instanceof AzureWorld ? world : new AzureWorld(world);
  const log = new RequestLog();
  const identity = await createTlsIdentity();
  const trustedBefore = tls.getCACertificates('default');
  tls.setDefaultCACertificates([...trustedBefore, identity.certificatePem]);
  const http = await startHttpsServer(w, log, identity);
  return {
    url: http.url,
    certificatePem: identity.certificatePem,
    world: w,
    log,
    settingsEnv: (principals) => ({
      ATTESTD_AZURE_AUTHORITY_HOST: http.url,
      ATTESTD_AZURE_RESOURCE_MANAGER_ENDPOINT: http.url,
      ATTESTD_AZURE_TENANTS: principals.map((p) => `${p.tenantId}:${p.clientId}:${p.clientSecret}`).join(','),
    }),
    async close() {
      await http.close();
      tls.setDefaultCACertificates(trustedBefore);
    },
  };
}
