/**
 * Every metric attestd exports, as `operations.md` names them: the one place
 * instrument names and attribute keys are spelled (STYLE 11). In Prometheus
 * text dots become underscores and counters gain `_total`
 * (`attestd_attestation_proofs_total`).
 */
export const INSTRUMENTS = {
  attestationProofs: { name: 'attestd.attestation.proofs', kind: 'counter', attributes: ['attestor_type', 'outcome'] },
  logins: { name: 'attestd.logins', kind: 'counter', attributes: ['outcome', 'code', 'policy'] },
  loginDuration: { name: 'attestd.login.duration', kind: 'histogram', unit: 's', attributes: ['outcome'] },
  cloudRequests: { name: 'attestd.cloud.requests', kind: 'counter', attributes: ['service', 'operation', 'outcome'] },
  cacheLookups: { name: 'attestd.cache.lookups', kind: 'counter', attributes: ['cache', 'result'] },
  tofuConflicts: { name: 'attestd.tofu.conflicts', kind: 'counter', attributes: ['attestor_type'] },
  configVersion: { name: 'attestd.config.version', kind: 'gauge', attributes: ['section'] },
  svidsIssued: { name: 'attestd.svids.issued', kind: 'counter', attributes: ['kind', 'reason'] },
  /** connections closed on arrival: `reason` is `per_source` (http.maxConnectionsPerSource) or `max_connections` */
  httpConnectionsRefused: { name: 'attestd.http.connections.refused', kind: 'counter', attributes: ['reason'] },
  /** rows the retention job deleted (whole audit partitions counted by their rows), by `table` */
  retentionPruned: { name: 'attestd.retention.pruned', kind: 'counter', attributes: ['table'] },
} as const;

/** The reference agent's own counter, defined in the contracts the agent shares. */
export { AGENT_PROOFS } from '../../../libs/contracts/telemetry';

/**
 * How a Prometheus scrape spells an instrument's series. The OpenTelemetry
 * Prometheus exporter adds `_total` to counters but no unit suffix, so the
 * duration histogram reads `attestd_login_duration_bucket` (its unit is
 * in the `# UNIT` line).
 */
export function prometheusName(instrument: { name: string; kind: string }): string {
  const base = instrument.name.replaceAll('.', '_');
  return instrument.kind === 'counter' ? `${base}_total` : base;
}

/**
 * Login latency buckets in seconds: the SDK's default bounds start at 5 and
 * would put every login in the first bucket, leaving p50/p99 meaningless.
 */
export const LOGIN_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
