import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { AGENT_PROOFS } from '@libs/contracts/telemetry';

/** Where the login's collect step reports each proof: collected, or failed to collect. */
export interface ProofRecorder {
  proof(attestorType: string, outcome: 'success' | 'failed'): void;
}

/** Where the daemon reports each renewal attempt (`attestd.agent.renewals`). */
export interface RenewalRecorder {
  renewal(outcome: 'success' | 'failed'): void;
}

/**
 * The renewing agent's counter. Named here, not in libs/contracts, since
 * only the agent emits it and the specification's table does not list it.
 */
export const AGENT_RENEWALS = {
  name: 'attestd.agent.renewals',
  kind: 'counter',
  description: 'SVID renewals the agent daemon attempted, by outcome.',
  attributes: ['outcome'],
} as const;

/** The agent's metrics (`attestd.agent.proofs`, `attestd.agent.renewals`); `flush` exports them and must run before the CLI exits. */
export interface AgentTelemetry extends ProofRecorder, RenewalRecorder {
  flush(): Promise<void>;
}

/** Counts nothing: the agent without OTEL_EXPORTER_OTLP_ENDPOINT. */
export const NO_TELEMETRY: AgentTelemetry = {
  proof: () => undefined,
  renewal: () => undefined,
  flush: () => Promise.resolve(),
};

/**
 * OpenTelemetry metrics over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT`
 * (or the metrics-only `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) is set, as the
 * server does; otherwise nothing at all. The endpoint is read from `env`,
 * not the process's, so tests can point it anywhere.
 */
export function createAgentTelemetry(env: NodeJS.ProcessEnv): AgentTelemetry {
  const url = otlpMetricsUrl(env);
  if (url === undefined) return NO_TELEMETRY;
  return meteredTelemetry(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url }) }));
}

/** The counter on any metric reader (tests pass an in-memory one). */
export function meteredTelemetry(reader: MetricReader): AgentTelemetry {
  const provider = new MeterProvider({
    readers: [reader],
    resource: resourceFromAttributes({ 'service.name': 'attestd-agent' }),
  });
  const meter = provider.getMeter('attestd-agent');
  const counter = meter.createCounter(AGENT_PROOFS.name, { description: AGENT_PROOFS.description });
  const renewals = meter.createCounter(AGENT_RENEWALS.name, { description: AGENT_RENEWALS.description });
  return {
    proof: (attestorType, outcome) => counter.add(1, { attestor_type: attestorType, outcome }),
    renewal: (outcome) => renewals.add(1, { outcome }),
    // shutdown exports what is left, once; the CLI records nothing after it
    flush: () => provider.shutdown(),
  };
}

/** The OTLP/HTTP metrics URL as the OpenTelemetry specification derives it. */
function otlpMetricsUrl(env: NodeJS.ProcessEnv): string | undefined {
  const metrics = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim();
  if (metrics) return metrics;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/metrics` : undefined;
}
