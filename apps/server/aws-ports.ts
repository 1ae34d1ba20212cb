import { Inject, Injectable } from '@nestjs/common';
import type { AttestorPorts } from '@libs/attestors/catalog';
import type { StsSender } from '@libs/attestors/aws/ports';
import { createAwsCloud } from '@libs/attestors/aws/cloud/aws-cloud';
import type { CloudStats } from '@libs/attestors/aws/cloud/stats';
import { createStsSender } from '@libs/attestors/aws-iam/sts-sender';
import { SETTINGS } from './settings/settings.module';
import type { Settings } from './settings/settings';
import { INSTRUMENTS } from './telemetry/instruments';
import { Metrics } from './telemetry/metrics';

/** Milliseconds an STS answer to an agent's signed request may take. */
const STS_TIMEOUT_MS = 5_000;
/** GetCallerIdentity answers are a few hundred bytes. */
const STS_MAX_BYTES = 64 * 1024;

/**
 * The AWS side of the attestors' ports, from the server settings (AWS_REGION
 * and AWS_ENDPOINT_URL_STS among them) and the SDK's standard configuration
 * (default credential chain, AWS_ENDPOINT_URL_*), which is also how tests
 * reach the simulator.
 */
@Injectable()
export class AwsPorts {
  readonly ports: Pick<AttestorPorts, 'aws' | 'sts' | 'awsSettings'>;

  constructor(@Inject(SETTINGS) settings: Settings, metrics: Metrics) {
    const { partition, assumeRoleName, disableInstanceProfileSelectors, skipBlockDevice, region, stsEndpoint } =
      settings.aws;
    const stats = cloudStats(metrics);
    this.ports = {
      aws: createAwsCloud({
        partition,
        cacheTtlSeconds: settings.cloudCacheTtlSeconds,
        maxEntries: settings.cloudCacheSize,
        stats,
        ...(assumeRoleName !== undefined && { assumeRoleName }),
        ...(region !== undefined && { region }),
      }),
      sts: countedSts(
        createStsSender({
          timeoutMs: STS_TIMEOUT_MS,
          maxBytes: STS_MAX_BYTES,
          ...(stsEndpoint !== undefined && { endpointOverride: stsEndpoint }),
        }),
        stats,
      ),
      awsSettings: { partition, disableInstanceProfileSelectors, skipBlockDevice },
    };
  }
}

/** `attestd.cloud.requests` and `attestd.cache.lookups` from the cloud layer's counts. */
export function cloudStats(metrics: Metrics): CloudStats {
  return {
    request: (service, operation, outcome) => metrics.count(INSTRUMENTS.cloudRequests, { service, operation, outcome }),
    cache: (cache, result) => metrics.count(INSTRUMENTS.cacheLookups, { cache, result }),
  };
}

/**
 * The agents' own signed GetCallerIdentity (aws_iam) is a cloud request too.
 * As aws_iam reads the answer: no answer, a 5xx, 429 or throttling is a
 * failure; any other answer (a refused signature included) is a success.
 */
function countedSts(sender: StsSender, stats: CloudStats): StsSender {
  return {
    send: (request) =>
      sender.send(request).then(
        (answer) => {
          const failed = answer.status >= 500 || answer.status === 429 || /Throttl/.test(answer.body);
          stats.request('sts', 'GetCallerIdentity', failed ? 'failure' : 'success');
          return answer;
        },
        (error: unknown) => {
          stats.request('sts', 'GetCallerIdentity', 'failure');
          throw error;
        },
      ),
  };
}
