import { Prisma, type PrismaClient } from './generated/client';
import type { AuditEvent as AuditRow } from './generated/client';
import type { AuditEvent, AuditEventName } from '../contracts/admin-api';
import { storableText } from '../contracts/storable-text';
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
   * older. Over every partition at once PostgreSQL costs a LIMIT as if the
   * matching rows were spread evenly over all of them, and walks the newest
   * partition's primary key backwards to find a rare value (`attestor=` of
   * a small share: 80 ms at 5 million rows) where over one day it takes the
   * GIN index and sorts the few rows it finds (1 ms). The cursor is a row
   * comparison on (at, id), with a plain bound on `at` that prunes newer
   * partitions.
   */
  async list(filter: AuditFilter): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    const after = filter.after === undefined ? undefined : parseAuditKey(filter.after);
    const conditions = [
      filter.outcome && Prisma.sql`outcome = ${filter.outcome}`,
      filter.attestor && Prisma.sql`attestors @> ARRAY[${filter.attestor}]::text[]`,
      filter.agentId && Prisma.sql`agent_id = ${filter.agentId}::uuid`,
      filter.since && Prisma.sql`at >= ${filter.since}`,
      filter.until && Prisma.sql`at < ${filter.until}`,
      after && Prisma.sql`at <= ${after.at} AND (at, id) < (${after.at}, ${after.id}::bigint)`,
    ].filter((c): c is Prisma.Sql => Boolean(c));
    const wanted = filter.limit + 1;
    const split = new Date((after?.at.getTime() ?? Date.now()) - RECENT_WINDOW_MS);
    const rows = await this.page([...conditions, Prisma.sql`at >= ${split}`], wanted);
    if (rows.length < wanted && !(filter.since && filter.since >= split)) {
      rows.push(...(await this.page([...conditions, Prisma.sql`at < ${split}`], wanted - rows.length)));
    }
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(fromRow),
      nextCursor: rows.length > filter.limit && last ? encodeCursor(auditKey(last)) : null,
    };
  }

  private page(conditions: Prisma.Sql[], limit: number): Promise<AuditRow[]> {
    return this.prisma.$queryRaw<AuditRow[]>`
      SELECT id, at, event, outcome, code, reason, attestors, policy, attributes, spiffe_id AS "spiffeId",
             agent_id::text AS "agentId", source_ip AS "sourceIp", request_id AS "requestId", actor
      FROM audit_events WHERE ${Prisma.join(conditions, ' AND ')}
      ORDER BY at DESC, id DESC
      LIMIT ${limit}`;
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
