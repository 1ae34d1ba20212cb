import type { PrismaClient } from './generated/client';
import type { AuditEvent as AuditRow } from './generated/client';
import type { AuditEvent, AuditEventName } from '../contracts/admin-api';
import { storableText } from '../contracts/storable-text';
import { encodeCursor } from './cursor';

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
  /** decoded cursor: the id of the last event of the previous page */
  after?: string;
  limit: number;
}

/** Which login attempts `recentLogins` reads: the newest `limit`, none older than `since`. */
export interface RecentLoginsFilter {
  limit: number;
  since?: Date;
}

export class AuditRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async append(event: NewAuditEvent): Promise<void> {
    await this.prisma.auditEvent.create({ data: toRow(event) });
  }

  /** Newest first; `nextCursor` while more remain. */
  async list(filter: AuditFilter): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
    const rows = await this.prisma.auditEvent.findMany({
      where: {
        ...(filter.outcome && { outcome: filter.outcome }),
        ...(filter.attestor && { attestors: { has: filter.attestor } }),
        ...(filter.agentId && { agentId: filter.agentId }),
        ...((filter.since || filter.until) && {
          at: { ...(filter.since && { gte: filter.since }), ...(filter.until && { lt: filter.until }) },
        }),
        ...(filter.after && { id: { lt: BigInt(filter.after) } }),
      },
      orderBy: { id: 'desc' },
      take: filter.limit + 1,
    });
    const page = rows.slice(0, filter.limit);
    const more = rows.length > filter.limit;
    return {
      items: page.map(fromRow),
      nextCursor: more ? encodeCursor(String(page[page.length - 1]!.id)) : null,
    };
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
      orderBy: { id: 'desc' },
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
