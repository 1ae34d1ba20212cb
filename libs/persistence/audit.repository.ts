import { Prisma, type PrismaClient } from './generated/client';
import type { AuditEvent as AuditRow } from './generated/client';
import type { AuditEvent, AuditEventName } from '@libs/contracts/admin-api';
import { storableText } from '@libs/contracts/storable-text';
import { attestorSetsContaining, unionOfBranches } from './attestor-sets';
import { auditKey, encodeCursor, parseAuditKey } from './cursor';

export type { AuditEvent, AuditEventName };

export interface NewAuditEvent {
  event: AuditEventName;
  outcome: 'success' | 'failure';
  code?: string;
  reason?: string;
  attestors?: string[];
  policy?: string;
  attributes?: Record<string, string[]>;
  spiffeId?: string;
  agentId?: string;
  sourceIp?: string;
  requestId?: string;
  actor?: string;
}

export interface AuditFilter {
  outcome?: 'success' | 'failure';
  attestor?: string;
  agentId?: string;
  since?: Date;
  until?: Date;
  /** decoded cursor (`AUDIT_KEY`): the place of the last event of the previous page */
  after?: string;
  limit: number;
}

/** Which login attempts `recentLogins` reads: the newest `limit`, none older than `since`. */
export interface RecentLoginsFilter {
  limit: number;
  since?: Date;
}

/** The audit list reads this span before the cursor (or now) on its own first (see `list`). */
const RECENT_WINDOW_MS = 86_400_000;

export class AuditRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async append(event: NewAuditEvent): Promise<void> {
    await this.prisma.auditEvent.create({ data: toRow(event) });
  }

  /**
   * Newest first (by time, then id); `nextCursor` while more remain.
   *
   * In SQL, and in two steps, for audit_events' partitions: the day before
   * the cursor (or now) first, then, if the page is not full, everything
   * older, so a page of recent events touches only the newest partitions.
   * An `attestor=` filter reads one index range per attestor set that
   * contains it (`auditPageQuery`). The cursor is a row comparison on
   * (at, id), with a plain bound on `at` that prunes newer partitions.
   */
  async list(filter: AuditFilter): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    const after = filter.after === undefined ? undefined : parseAuditKey(filter.after);
    const conditions = [
      filter.outcome && Prisma.sql`outcome = ${filter.outcome}`,
      filter.agentId && Prisma.sql`agent_id = ${filter.agentId}::uuid`,
      filter.since && Prisma.sql`at >= ${filter.since}`,
      filter.until && Prisma.sql`at < ${filter.until}`,
      after && Prisma.sql`at <= ${after.at} AND (at, id) < (${after.at}, ${after.id}::bigint)`,
    ].filter((c): c is Prisma.Sql => Boolean(c));
    const wanted = filter.limit + 1;
    const sets =
      filter.attestor === undefined
        ? undefined
        : await attestorSetsContaining(this.prisma, 'audit_events', filter.attestor);
    const split = new Date((after?.at.getTime() ?? Date.now()) - RECENT_WINDOW_MS);
    const rows = await this.page(auditPageQuery([...conditions, Prisma.sql`at >= ${split}`], sets, wanted));
    if (rows.length < wanted && !(filter.since && filter.since >= split)) {
      rows.push(
        ...(await this.page(auditPageQuery([...conditions, Prisma.sql`at < ${split}`], sets, wanted - rows.length))),
      );
    }
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(fromRow),
      nextCursor: rows.length > filter.limit && last ? encodeCursor(auditKey(last)) : null,
    };
  }

  private async page(query: Prisma.Sql | undefined): Promise<AuditRow[]> {
    return query ? this.prisma.$queryRaw<AuditRow[]>(query) : [];
  }

  /**
   * The newest login attempts, newest first, for replaying against a
   * candidate policy. A second completion of one login ID
   * (`login_not_found`) is left out: it repeats an attempt already listed.
   */
  async recentLogins(filter: RecentLoginsFilter): Promise<AuditEvent[]> {
    const rows = await this.prisma.auditEvent.findMany({
      where: {
        event: 'login',
        OR: [{ code: null }, { code: { not: 'login_not_found' } }],
        ...(filter.since && { at: { gte: filter.since } }),
      },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: filter.limit,
    });
    return rows.map(fromRow);
  }
}

const AUDIT_COLUMNS = Prisma.sql`id, at, event, outcome, code, reason, attestors, policy, attributes, spiffe_id AS "spiffeId",
  agent_id::text AS "agentId", source_ip AS "sourceIp", request_id AS "requestId", actor`;

/**
 * One page of the audit list, newest first. With `sets` (an `attestor=`
 * filter: the attestor sets that contain it), one branch per set, each an
 * equality on the leading column of audit_events_attestors_at_id_idx read
 * in order, so each reads at most a page whether the attestor is common,
 * rare or absent (see attestorSetsContaining). Undefined when no set
 * contains the attestor: nothing to read.
 */
export function auditPageQuery(
  conditions: Prisma.Sql[],
  sets: readonly string[][] | undefined,
  limit: number,
): Prisma.Sql | undefined {
  const order = Prisma.sql`at DESC, id DESC`;
  const where = (extra: Prisma.Sql[]) => Prisma.join([...extra, ...conditions], ' AND ');
  if (sets === undefined)
    return Prisma.sql`SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE ${where([])} ORDER BY ${order} LIMIT ${limit}`;
  const branches = sets.map(
    (set) =>
      Prisma.sql`SELECT ${AUDIT_COLUMNS} FROM audit_events WHERE ${where([Prisma.sql`attestors = ${set}::text[]`])} ORDER BY ${order} LIMIT ${limit}`,
  );
  return branches.length === 0 ? undefined : unionOfBranches(branches, order, limit);
}

export function toRow(event: NewAuditEvent) {
  return {
    event: event.event,
    outcome: event.outcome,
    code: event.code ?? null,
    reason: event.reason === undefined || event.reason === null ? null : storableText(event.reason),
    attestors: event.attestors ?? [],
    policy: event.policy ?? null,
    attributes: event.attributes ?? undefined,
    spiffeId: event.spiffeId ?? null,
    agentId: event.agentId ?? null,
    sourceIp: event.sourceIp ?? null,
    requestId: event.requestId ?? null,
    actor: event.actor ?? null,
  };
}

function fromRow(row: AuditRow): AuditEvent {
  return {
    id: String(row.id),
    at: row.at.toISOString(),
    event: row.event as AuditEventName,
    outcome: row.outcome as AuditEvent['outcome'],
    code: row.code,
    reason: row.reason,
    attestors: row.attestors,
    policy: row.policy,
    attributes: row.attributes as AuditEvent['attributes'],
    spiffeId: row.spiffeId,
    agentId: row.agentId,
    sourceIp: row.sourceIp,
    requestId: row.requestId,
    actor: row.actor,
  };
}
