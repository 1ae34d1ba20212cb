/**
 * Which audit_events partitions the retention job makes and drops. Pure:
 * the partitions that exist, the time and the retention in; a plan out.
 *
 * Partitions are UTC periods whose width follows auditRetention, so that a
 * retention window spans few enough of them: a query without a time filter
 * plans and opens every partition, which costs about 40 ms at 370 daily
 * partitions and 2 ms at 55 (PostgreSQL 15 here). Expired rows go a whole
 * partition at a time, so they stay at most one period past retention.
 *
 *   auditRetention      width   partitions in the window
 *   up to 62 days       day     up to 63
 *   up to 434 days      week    up to 63 (weeks start on Monday)
 *   longer, or 0        month   one a month, kept forever with 0
 */
export type PartitionWidth = 'day' | 'week' | 'month';

const DAY_MS = 86_400_000;
const DAY_WIDTH_UP_TO_SECONDS = 62 * 86_400;
const WEEK_WIDTH_UP_TO_SECONDS = 434 * 86_400;

/** Partitions exist at least this far ahead of now; a row beyond lands in the default partition. */
export const PARTITIONS_AHEAD_MS = 7 * DAY_MS;

export const AUDIT_TABLE = 'audit_events';
export const DEFAULT_PARTITION = 'audit_events_default';
const PERIOD_PARTITION = /^audit_events_p\d{8}$/;

/** A partition as the catalog describes it; null bounds are MINVALUE / MAXVALUE. */
export interface ExistingPartition {
  name: string;
  from: Date | null;
  to: Date | null;
  isDefault: boolean;
}

export interface NewPartition {
  name: string;
  from: Date;
  to: Date;
}

export interface AuditPartitionPlan {
  /** oldest first, contiguous from the period that holds `now` */
  create: NewPartition[];
  /** wholly older than the retention cutoff */
  drop: string[];
  /** not period-shaped (the default partition, the legacy one), so their expired rows are deleted in batches */
  trim: string[];
  /** rows older than this are expired; undefined when audit events are kept forever */
  cutoff: Date | undefined;
}

export function partitionWidthFor(retentionSeconds: number): PartitionWidth {
  if (retentionSeconds <= 0) return 'month';
  if (retentionSeconds <= DAY_WIDTH_UP_TO_SECONDS) return 'day';
  if (retentionSeconds <= WEEK_WIDTH_UP_TO_SECONDS) return 'week';
  return 'month';
}

/** The start of the UTC period that holds `t`. */
export function periodStart(t: Date, width: PartitionWidth): Date {
  const day = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
  if (width === 'day') return new Date(day);
  if (width === 'week') return new Date(day - ((t.getUTCDay() + 6) % 7) * DAY_MS);
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
}

/** The start of the period after the one that holds `t`. */
export function nextPeriodStart(t: Date, width: PartitionWidth): Date {
  const start = periodStart(t, width);
  if (width === 'month') return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  return new Date(start.getTime() + (width === 'day' ? 1 : 7) * DAY_MS);
}

/** `audit_events_p20261203`: named by its first UTC day. */
export function partitionName(from: Date): string {
  return `audit_events_p${from.toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** Whether a table name is one of the period partitions this job makes. */
export function isPeriodPartition(name: string): boolean {
  return PERIOD_PARTITION.test(name);
}

export function planAuditPartitions(
  existing: readonly ExistingPartition[],
  now: Date,
  retentionSeconds: number,
): AuditPartitionPlan {
  const cutoff = retentionSeconds > 0 ? new Date(now.getTime() - retentionSeconds * 1000) : undefined;
  const ranged = existing.filter((p) => !p.isDefault);
  return {
    create: partitionsToCreate(ranged, now, partitionWidthFor(retentionSeconds)),
    drop: cutoff ? ranged.filter((p) => p.to !== null && p.to.getTime() <= cutoff.getTime()).map((p) => p.name) : [],
    trim: cutoff
      ? existing
          .filter((p) => p.isDefault || (p.from === null && (p.to === null || p.to.getTime() > cutoff.getTime())))
          .map((p) => p.name)
      : [],
    cutoff,
  };
}

/**
 * Walks from the period that holds `now` to `PARTITIONS_AHEAD_MS` past it,
 * stepping over what exists. A partition that ends inside a period (the
 * legacy one ends at a day's end; partitions of an earlier width) is
 * followed by a shorter one up to the next period start, so later ones
 * stay aligned.
 */
function partitionsToCreate(ranged: readonly ExistingPartition[], now: Date, width: PartitionWidth): NewPartition[] {
  const until = now.getTime() + PARTITIONS_AHEAD_MS;
  const create: NewPartition[] = [];
  let cursor = periodStart(now, width);
  while (cursor.getTime() < until) {
    const end = nextPeriodStart(cursor, width);
    const overlapping = ranged.filter((p) => startsBefore(p, end) && endsAfter(p, cursor));
    if (overlapping.length === 0) {
      create.push({ name: partitionName(cursor), from: cursor, to: end });
      cursor = end;
      continue;
    }
    const furthest = Math.max(...overlapping.map((p) => (p.to === null ? Infinity : p.to.getTime())));
    if (furthest === Infinity) break;
    cursor = new Date(furthest);
  }
  return create;
}

function startsBefore(p: ExistingPartition, t: Date): boolean {
  return p.from === null || p.from.getTime() < t.getTime();
}

function endsAfter(p: ExistingPartition, t: Date): boolean {
  return p.to === null || p.to.getTime() > t.getTime();
}
