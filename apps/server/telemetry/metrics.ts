import type { Counter, Histogram, Meter } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { HostMetricsInstrumentation } from '@opentelemetry/instrumentation-host-metrics';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
  type MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { INSTRUMENTS, LOGIN_DURATION_BUCKETS, unitSuffix, type Instrument } from './instruments';

type Labels = Record<string, string>;
type Observation = { labels: Labels; value: number };

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The server's metrics through the OpenTelemetry API and SDK: Prometheus
 * text on `/metrics` (served by our HTTP server, not the exporter's own),
 * not registered globally, since tests run several servers in one process,
 * and OTLP as well when OTEL_EXPORTER_OTLP_ENDPOINT is set. Besides
 * INSTRUMENTS, the process and runtime metrics of two OpenTelemetry
 * instrumentations: CPU and resident memory (host-metrics, process groups
 * only), event-loop delay and utilisation, GC pauses, heap and active
 * handles (runtime-node). One instance a process; recording methods are
 * cheap enough for the login path.
 */
export class Metrics {
  private readonly prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  private readonly serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  private readonly provider: MeterProvider;
  private readonly runtime: (RuntimeNodeInstrumentation | HostMetricsInstrumentation)[];
  private readonly counters = new Map<string, Counter>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly gauges = new Map<string, { values: Map<string, Observation>; sources: (() => Observation[])[] }>();

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const readers: MetricReader[] = [this.prometheus];
    if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) {
      // the SDK does not read the standard interval variable itself
      const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL);
      readers.push(
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter(),
          ...(interval > 0 && { exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) }),
        }),
      );
    }
    this.provider = new MeterProvider({ readers, resource: resourceFromAttributes({ 'service.name': 'attestd' }) });
    const meter: Meter = this.provider.getMeter('attestd');
    for (const instrument of Object.values(INSTRUMENTS)) this.create(meter, instrument);
    this.runtime = [
      new RuntimeNodeInstrumentation({ enabled: false }),
      new HostMetricsInstrumentation({ enabled: false, metricGroups: ['process.cpu', 'process.memory'] }),
    ];
    for (const instrumentation of this.runtime) {
      instrumentation.setMeterProvider(this.provider);
      instrumentation.enable();
    }
  }

  private create(meter: Meter, instrument: Instrument): void {
    const options = { description: instrument.description, ...('unit' in instrument && { unit: instrument.unit }) };
    if (instrument.kind === 'counter')
      this.counters.set(instrument.name, meter.createCounter(instrument.name, options));
    if (instrument.kind === 'histogram')
      this.histograms.set(
        instrument.name,
        meter.createHistogram(instrument.name, {
          ...options,
          advice: { explicitBucketBoundaries: LOGIN_DURATION_BUCKETS },
        }),
      );
    if (instrument.kind === 'gauge') {
      const gauge = { values: new Map<string, Observation>(), sources: [] as (() => Observation[])[] };
      this.gauges.set(instrument.name, gauge);
      meter.createObservableGauge(instrument.name, options).addCallback((result) => {
        for (const { labels, value } of [...gauge.values.values(), ...gauge.sources.flatMap((source) => source())])
          result.observe(value, labels);
      });
    }
  }

  /** Adds one (or `by`) to a counter of INSTRUMENTS. */
  count(instrument: { name: string; kind: 'counter' }, labels: Labels, by = 1): void {
    this.counters.get(instrument.name)?.add(by, labels);
  }

  record(instrument: { name: string; kind: 'histogram' }, value: number, labels: Labels): void {
    this.histograms.get(instrument.name)?.record(value, labels);
  }

  /** Sets a gauge's value for these labels until it is set again. */
  set(instrument: { name: string; kind: 'gauge' }, value: number, labels: Labels): void {
    this.gauges.get(instrument.name)?.values.set(JSON.stringify(labels), { labels, value });
  }

  /** Reads a gauge's values from `source` at each collection (a value that changes with time, such as a key's expiry). */
  observe(instrument: { name: string; kind: 'gauge' }, source: () => Observation[]): void {
    this.gauges.get(instrument.name)?.sources.push(source);
  }

  /** The Prometheus text exposition of every metric, names carrying their unit (`_seconds`, `_bytes`). */
  async text(): Promise<string> {
    const { resourceMetrics, errors } = await this.prometheus.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'metrics: collection failed');
    return this.serializer.serialize(withUnitSuffixes(resourceMetrics));
  }

  async shutdown(): Promise<void> {
    for (const instrumentation of this.runtime) instrumentation.disable();
    await this.provider.shutdown();
  }
}

/**
 * Units the host-metrics instrumentation leaves out of its descriptors,
 * although the semantic conventions give them (its HELP text says bytes).
 */
const UNITS_NOT_DECLARED: Record<string, string> = { 'process.memory.usage': 'By', 'process.cpu.utilization': '1' };

/**
 * Renames each metric with a unit to end in its Prometheus unit word, as
 * the OpenTelemetry specification's Prometheus compatibility rules ask and
 * the JavaScript exporter does not do (`attestd.login.duration`, unit s:
 * `attestd_login_duration_seconds`). OTLP keeps the names unchanged.
 */
function withUnitSuffixes(resourceMetrics: ResourceMetrics): ResourceMetrics {
  const rename = (metric: MetricData): MetricData => {
    const kind = metric.dataPointType === DataPointType.GAUGE ? 'gauge' : 'other';
    const unit = metric.descriptor.unit || UNITS_NOT_DECLARED[metric.descriptor.name] || '';
    const suffix = unitSuffix(unit, kind);
    if (!suffix || metric.descriptor.name.endsWith(`.${suffix}`) || metric.descriptor.name.endsWith(`_${suffix}`))
      return metric;
    return {
      ...metric,
      descriptor: { ...metric.descriptor, name: `${metric.descriptor.name}.${suffix}`, unit },
    } as MetricData;
  };
  return {
    ...resourceMetrics,
    scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({ ...scope, metrics: scope.metrics.map(rename) })),
  };
}
