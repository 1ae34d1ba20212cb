import { Inject, Injectable } from '@nestjs/common';
import type { AttestorPorts } from '@libs/attestors/catalog';
import { createAzureCloud } from '@libs/attestors/azure/cloud/azure-cloud';
import { createAzureKeySource } from '@libs/attestors/azure/cloud/key-source';
import { SigningKeys } from '@libs/attestors/azure-msi/signing-keys';
import { cloudStats } from './aws-ports';
import { SETTINGS } from './settings/settings.module';
import type { Settings } from './settings/settings';
import { Metrics } from './telemetry/metrics';

/**
 * The Azure side of the attestors' ports, from the `azure.*` settings: the
 * authority host (Entra, for tokens' keys and the server's own sign-in), the
 * resource-manager endpoint and per-tenant client secrets. Sovereign clouds
 * and the tests' simulator are reached the same way, through these settings.
 */
@Injectable()
export class AzurePorts {
  readonly ports: Pick<AttestorPorts, 'azure'>;

  constructor(@Inject(SETTINGS) settings: Settings, metrics: Metrics) {
    const { authorityHost, resourceManagerEndpoint, tenants } = settings.azure;
    const stats = cloudStats(metrics);
    this.ports = {
      azure: {
        cloud: createAzureCloud({
          authorityHost,
          resourceManagerEndpoint,
          tenants,
          cacheTtlSeconds: settings.cloudCacheTtlSeconds,
          maxEntries: settings.cloudCacheSize,
          stats,
        }),
        keys: new SigningKeys(createAzureKeySource({ authorityHost, stats })),
        authorityHost,
      },
    };
  }
}
