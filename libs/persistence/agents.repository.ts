import type { PrismaClient } from './generated/client';
import type { AgentStatus } from './generated/enums';
import type { Agent } from '../contracts/admin-api';
import { encodeCursor } from './cursor';

export type { AgentStatus };

/** An agent as the admin API shows it (`api.md`). */
export type AgentView = Agent;

export interface AgentFilter {
  status?: AgentStatus;
  attestor?: string;
  /** decoded cursor: the id of the last agent of the previous page */
  after?: string;
  limit: number;
}

export type StatusChange = 'evict' | 'ban' | 'unban';

export class AgentsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async get(id: string): Promise<AgentView | null> {
    const row = await this.prisma.agent.findUnique({ where: { id }, include: { tofuKeys: true } });
    return row ? toView(row) : null;
  }

  async list(filter: AgentFilter): Promise<{ items: AgentView[]; nextCursor: string | null }> {
    const rows = await this.prisma.agent.findMany({
      where: {
        ...(filter.status && { status: filter.status }),
        ...(filter.attestor && { attestorTypes: { has: filter.attestor } }),
        ...(filter.after && { id: { gt: filter.after } }),
      },
      include: { tofuKeys: true },
      orderBy: { id: 'asc' },
      take: filter.limit + 1,
    });
    const page = rows.slice(0, filter.limit);
    return {
      items: page.map(toView),
      nextCursor: rows.length > filter.limit ? encodeCursor(page[page.length - 1]!.id) : null,
    };
  }

  /**
   * Evict frees the agent's TOFU keys so the node may attest again; ban keeps
   * (or takes back) its keys so the node may not; unban frees them. The
   * status change and its audit event commit together. Returns the agent
   * after the change, or null when it does not exist or (unban) is not banned.
   */
  async changeStatus(id: string, change: StatusChange, audit: { actor: string; requestId?: string; sourceIp?: string }): Promise<AgentView | null> {
    const status: AgentStatus = change === 'ban' ? 'banned' : 'evicted';
    const updated = await this.prisma.$transaction(async (tx) => {
      const agent = await tx.agent.findUnique({ where: { id } });
      if (!agent || (change === 'unban' && agent.status !== 'banned')) return false;
      // the eviction time starts agentRetention (retention purges the agent after it)
      await tx.agent.update({ where: { id }, data: { status, ...(status === 'evicted' && { evictedAt: new Date() }) } });
      if (change === 'ban') {
        // Take the keys back unless the node already attested again as another agent.
        await tx.$executeRaw`
          UPDATE tofu_keys t SET active = true
          WHERE t.agent_id = ${id}::uuid AND NOT t.active
            AND NOT EXISTS (SELECT 1 FROM tofu_keys o WHERE o.key = t.key AND o.active)`;
      } else {
        await tx.tofuKey.updateMany({ where: { agentId: id, active: true }, data: { active: false } });
      }
      await tx.auditEvent.create({
        data: {
          event: change,
          outcome: 'success',
          attestors: agent.attestorTypes,
          policy: agent.policy,
          spiffeId: agent.spiffeId,
          agentId: id,
          actor: audit.actor,
          requestId: audit.requestId ?? null,
          sourceIp: audit.sourceIp ?? null,
        },
      });
      return true;
    });
    return updated ? this.get(id) : null;
  }
}

type AgentRow = Awaited<ReturnType<PrismaClient['agent']['findFirstOrThrow']>> & {
  tofuKeys: { key: string; active: boolean }[];
};

function toView(row: AgentRow): AgentView {
  return {
    id: row.id,
    spiffeId: row.spiffeId,
    attestorTypes: row.attestorTypes,
    tofuKeys: row.tofuKeys.map((k) => k.key),
    status: row.status,
    policy: row.policy,
    attributes: row.attributes as Record<string, string[]>,
    selectors: row.selectors,
    firstAttestedAt: row.firstAttestedAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
    svidSerial: row.svidSerial,
    svidExpiresAt: row.svidExpiresAt?.toISOString() ?? null,
  };
}
