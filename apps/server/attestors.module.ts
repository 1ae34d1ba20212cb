import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Attestor, AttestorDescriptor } from '@libs/attestors/attestor';
import { builtInAttestors, builtInDescriptors, type AttestorPorts } from '@libs/attestors/catalog';
import { AttestorRegistry } from '@libs/attestors/registry';
import { JoinTokensRepository } from '@libs/persistence';
import { ActiveConfig } from './config-documents/active-config';
import { AwsPorts } from './aws-ports';
import { AzurePorts } from './azure-ports';
import { createJwksSource } from '@libs/attestors/k8s-psat/cloud/jwks-source';
import { RemoteKeySets } from '@libs/attestors/k8s-psat/remote-keys';
import { Metrics } from './telemetry/metrics';
import { cloudStats } from './aws-ports';

export const ATTESTOR_CATALOG = Symbol('ATTESTOR_CATALOG');

/**
 * The attestors and what they see of the active configuration. The catalog
 * (names, attributes, config schemas) needs no ports, so configuration
 * validation and the attestors' ports (which read the active AWS trust set)
 * do not depend on each other.
 */
@Global()
@Module({})
export class AttestorsModule {
  static forRoot(additional: Attestor[]): DynamicModule {
    return {
      module: AttestorsModule,
      providers: [
        {
          provide: ATTESTOR_CATALOG,
          useValue: [...builtInDescriptors(), ...additional] satisfies AttestorDescriptor[],
        },
        {
          provide: ActiveConfig,
          inject: [ATTESTOR_CATALOG],
          useFactory: (catalog: AttestorDescriptor[]) => new ActiveConfig(catalog),
        },
        AwsPorts,
        AzurePorts,
        {
          provide: AttestorRegistry,
          inject: [JoinTokensRepository, ActiveConfig, AwsPorts, AzurePorts, Metrics],
          useFactory: (
            joinTokens: JoinTokensRepository,
            active: ActiveConfig,
            aws: AwsPorts,
            azure: AzurePorts,
            metrics: Metrics,
          ) => {
            const k8s = {
              clusters: () => active.kubernetesClusters,
              remoteKeys: new RemoteKeySets(createJwksSource({ stats: cloudStats(metrics) })),
            };
            const ports: AttestorPorts = {
              joinTokens,
              ...aws.ports,
              ...azure.ports,
              k8s,
              iidTrust: () => active.iidTrust,
            };
            return new AttestorRegistry([...builtInAttestors(ports), ...additional]);
          },
        },
      ],
      exports: [ATTESTOR_CATALOG, ActiveConfig, AttestorRegistry],
    };
  }
}
