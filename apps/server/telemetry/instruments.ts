/**
 * Every metric attestd defines, as `operations.md` names them: the one place
 * instrument names, units, descriptions (Prometheus HELP) and attribute keys
 * are spelled (STYLE 11). In Prometheus text dots become underscores, a unit
 * becomes a suffix (`_seconds`) and counters gain `_total`
 * (`attestd_attestation_proofs_total`, `attestd_login_duration_seconds`);
 * `prometheusName` spells it. docs/reference/telemetry.md lists them all.
 */
export const INSTRUMENTS = {
  attestationProofs: {
    name: 'attestd.attestation.proofs',
    kind: 'counter',
    description: 'Attestor proofs verified during login completions, by attestor and outcome (success or failed).',
    attributes: ['attestor_type', 'outcome'],
  },
  logins: {
    name: 'attestd.logins',
    kind: 'counter',
    description:
      'Login attempts that ended, by outcome, problem code (ok on success) and the policy that decided (none when no policy was reached).',
    attributes: ['outcome', 'code', 'policy'],
  },
  loginDuration: {
    name: 'attestd.login.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Time to complete a login (proof verification, policy, signing and the database write), by outcome.',
    attributes: ['outcome'],
  },
  cloudRequests: {
    name: 'attestd.cloud.requests',
    kind: 'counter',
    description:
      'Calls to cloud APIs (EC2, IAM, STS, Organizations, EKS, Auto Scaling, Entra, ARM) by service, operation and outcome.',
    attributes: ['service', 'operation', 'outcome'],
  },
  cacheLookups: {
    name: 'attestd.cache.lookups',
    kind: 'counter',
    description: 'Look-ups in the cloud-data caches, by cache and result (hit or miss).',
    attributes: ['cache', 'result'],
  },
  tofuConflicts: {
    name: 'attestd.tofu.conflicts',
    kind: 'counter',
    description: 'Logins refused because a node identity already attested (409 node_already_attested), by attestor.',
    attributes: ['attestor_type'],
  },
  configVersion: {
    name: 'attestd.config.version',
    kind: 'gauge',
    description: 'Version of each configuration section this replica serves.',
    attributes: ['section'],
  },
  svidsIssued: {
    name: 'attestd.svids.issued',
    kind: 'counter',
    description:
      'SVIDs signed, by kind (x509 or jwt) and reason (login, renew, or mint for a JWT-SVID made from an X.509-SVID).',
    attributes: ['kind', 'reason'],
  },
  /** connections closed on arrival: `reason` is `per_source` (http.maxConnectionsPerSource) or `max_connections` */
  httpConnectionsRefused: {
    name: 'attestd.http.connections.refused',
    kind: 'counter',
    description:
      'Connections closed on arrival because a cap was reached: per_source (http.maxConnectionsPerSource) or max_connections.',
    attributes: ['reason'],
  },
  /** rows the retention job deleted (whole audit partitions counted by their rows), by `table` */
  retentionPruned: {
    name: 'attestd.retention.pruned',
    kind: 'counter',
    description: 'Rows the retention job deleted (whole audit partitions counted by their rows), by table.',
    attributes: ['table'],
  },
  caExpiry: {
    name: 'attestd.ca.expiry.timestamp',
    kind: 'gauge',
    unit: 's',
    description: 'When the trust domain CA that signs X.509-SVIDs now expires (its notAfter), in Unix seconds.',
    attributes: [],
  },
  jwtKeyExpiry: {
    name: 'attestd.jwt.key.expiry.timestamp',
    kind: 'gauge',
    unit: 's',
    description: 'When the key that signs JWT-SVIDs now leaves /keys (its notAfter), in Unix seconds.',
    attributes: [],
  },
  keyRotationFailures: {
    name: 'attestd.key.rotation.failures',
    kind: 'counter',
    description:
      'Key rotation passes (CA and JWT-SVID keys) that failed; the keys in memory keep signing and the next pass retries.',
    attributes: [],
  },
} as const;

export type Instrument = (typeof INSTRUMENTS)[keyof typeof INSTRUMENTS];

/** The reference agent's own counter, defined in the contracts the agent shares. */
export { AGENT_PROOFS } from '@libs/contracts/telemetry';

/**
 * Prometheus suffixes for OpenTelemetry units, as the OpenTelemetry
 * specification's Prometheus compatibility rules give them ("1" only on
 * gauges, as `_ratio`). The JavaScript exporter does not add them itself,
 * so `Metrics` renames instruments before serialising.
 */
const UNIT_SUFFIXES: Record<string, string> = { s: 'seconds', ms: 'milliseconds', By: 'bytes' };

export function unitSuffix(unit: string | undefined, kind: string): string | undefined {
  if (!unit) return undefined;
  if (unit === '1') return kind === 'gauge' ? 'ratio' : undefined;
  return UNIT_SUFFIXES[unit.replace(/\{[^}]*\}/g, '')];
}

/** How a Prometheus scrape spells an instrument's series family (histograms add `_bucket`, `_sum`, `_count`). */
export function prometheusName(instrument: { name: string; kind: string; unit?: string }): string {
  const suffix = unitSuffix(instrument.unit, instrument.kind);
  const base =
    instrument.name.replaceAll('.', '_') + (suffix && !instrument.name.endsWith(`.${suffix}`) ? `_${suffix}` : '');
  return instrument.kind === 'counter' ? `${base}_total` : base;
}

/**
 * Login latency buckets in seconds: the SDK's default bounds start at 5 and
 * would put every login in the first bucket, leaving p50/p99 meaningless.
 */
export const LOGIN_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The process and runtime metrics the two OpenTelemetry instrumentations
 * export (`Metrics`), as a scrape spells them, with their labels: named
 * here so the dashboard, the docs and their tests agree with the libraries
 * (test/deploy/telemetry-doc.test.ts compares this with a real scrape).
 */
export const RUNTIME_METRICS = {
  process_cpu_time_seconds_total: { kind: 'counter', labels: ['cpu_mode'] },
  process_cpu_utilization_ratio: { kind: 'gauge', labels: ['cpu_mode'] },
  process_memory_usage_bytes: { kind: 'gauge', labels: [] },
  nodejs_eventloop_delay_min_seconds: { kind: 'gauge', labels: [] },
  nodejs_eventloop_delay_max_seconds: { kind: 'gauge', labels: [] },
  nodejs_eventloop_delay_mean_seconds: { kind: 'gauge', labels: [] },
  nodejs_eventloop_delay_stddev_seconds: { kind: 'gauge', labels: [] },
  nodejs_eventloop_delay_p50_seconds: { kind: 'gauge', labels: [] },
  nodejs_eventloop_delay_p90_seconds: { kind: 'gauge', labels: [] },
  nodejs_eventloop_delay_p99_seconds: { kind: 'gauge', labels: [] },
  nodejs_eventloop_utilization_ratio: { kind: 'gauge', labels: [] },
  nodejs_eventloop_time_seconds_total: { kind: 'counter', labels: ['nodejs_eventloop_state'] },
  v8js_gc_duration_seconds: { kind: 'histogram', labels: ['v8js_gc_type'] },
  v8js_memory_heap_used_bytes: { kind: 'gauge', labels: ['v8js_heap_space_name'] },
  v8js_memory_heap_space_size_bytes: { kind: 'gauge', labels: ['v8js_heap_space_name'] },
  v8js_memory_heap_space_available_size_bytes: { kind: 'gauge', labels: ['v8js_heap_space_name'] },
  v8js_memory_heap_space_physical_size_bytes: { kind: 'gauge', labels: ['v8js_heap_space_name'] },
  v8js_resource_active: { kind: 'gauge', labels: ['v8js_resource_type'] },
} as const satisfies Record<string, { kind: string; labels: readonly string[] }>;
