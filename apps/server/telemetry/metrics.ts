import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { INSTRUMENTS, LOGIN_DURATION_BUCKETS } from './instruments';

type Labels = Record<string, string>;

/**
 * The server's metrics through the OpenTelemetry API and SDK: Prometheus
 * text on `/metrics` (served by our HTTP server, not the exporter's own),
 * not registered globally, since tests run several servers in one process,
 * and OTLP as well when OTEL_EXPORTER_OTLP_ENDPOINT is set. One instance a
 * process; recording methods are cheap enough for the login path.
 */
export class Metrics {
  private readonly prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  private readonly provider: MeterProvider;
  private readonly counters = new Map<string, Counter>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly gaugeValues = new Map<string, Map<string, { labels: Labels; value: number }>>();

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const readers: MetricReader[] = [this.prometheus];
    if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) {
      // the SDK does not read the standard interval variable itself
      const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
      readers.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), ...(interval > 0 && { exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) }) }));
    }
    this.provider = new MeterProvider({ readers, resource: resourceFromAttributes({ 'service.name': 'attestd' }) });
    const meter: Meter = this.provider.getMeter('attestd');
    for (const instrument of Object.values(INSTRUMENTS)) {
      if (instrument.kind === 'counter') this.counters.set(instrument.name, meter.createCounter(instrument.name));
      if (instrument.kind === 'histogram') this.histograms.set(instrument.name, meter.createHistogram(instrument.name, { unit: instrument.unit, advice: { explicitBucketBoundaries: LOGIN_DURATION_BUCKETS } }));
      if (instrument.kind === 'gauge') {
        const values = new Map<string, { labels: Labels; value: number }>();
        this.gaugeValues.set(instrument.name, values);
        meter.createObservableGauge(instrument.name).addCallback((result) => {
          for (const { labels, value } of values.values()) result.observe(value, labels);
        });
      }
    }
  }

  /** Adds one (or `by`) to a counter of INSTRUMENTS. */
  count(instrument: { name: string; kind: 'counter' }, labels: Labels, by = 1): void {
    this.counters.get(instrument.name)?.add(by, labels);
  }

  record(instrument: { name: string; kind: 'histogram' }, value: number, labels: Labels): void {
    this.histograms.get(instrument.name)?.record(value, labels);
  }

  set(instrument: { name: string; kind: 'gauge' }, value: number, labels: Labels): void {
    this.gaugeValues.get(instrument.name)?.set(JSON.stringify(labels), { labels, value });
  }

  /** Writes the Prometheus text exposition to a raw Node response. */
  scrape(request: IncomingMessage, response: ServerResponse): void {
    this.prometheus.getMetricsRequestHandler(request, response);
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}
