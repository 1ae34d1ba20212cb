import { Prisma, type PrismaClient } from './generated/client';
import type { AgentStatus } from './generated/enums';
import type { Agent } from '@libs/contracts/admin-api';
import { attestorSetsContaining, unionOfBranches } from './attestor-sets';
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
    const wanted = filter.limit + 1;
    const rows = filter.attestor
      ? await this.byAttestor(filter.attestor, filter)
      : await this.prisma.agent.findMany({
          where: { ...(filter.status && { status: filter.status }), ...(filter.after && { id: { gt: filter.after } }) },
          include: { tofuKeys: true },
          orderBy: { id: 'asc' },
          take: wanted,
        });
    const page = rows.slice(0, filter.limit);
    return {
      items: page.map(toView),
      nextCursor: rows.length > filter.limit ? encodeCursor(page[page.length - 1]!.id) : null,
    };
  }

  private async byAttestor(attestor: string, filter: AgentFilter): Promise<AgentRow[]> {
    const query = agentIdsByAttestorQuery(await attestorSetsContaining(this.prisma, 'agents', attestor), filter);
    if (!query) return [];
    const ids = await this.prisma.$queryRaw<{ id: string }[]>(query);
    return this.prisma.agent.findMany({
      where: { id: { in: ids.map((row) => row.id) } },
      include: { tofuKeys: true },
      orderBy: { id: 'asc' },
    });
  }

  /**
   * Evict frees the agent's TOFU keys so the node may attest again; ban keeps
   * (or takes back) its keys so the node may not; unban frees them. The
   * status change and its audit event commit together. Returns the agent
   * after the change, or null when it does not exist or (unban) is not banned.
   */
  async changeStatus(
    id: string,
    change: StatusChange,
    audit: { actor: string; requestId?: string; sourceIp?: string },
  ): Promise<AgentView | null> {
    const status: AgentStatus = change === 'ban' ? 'banned' : 'evicted';
    const updated = await this.prisma.$transaction(async (tx) => {
      const agent = await tx.agent.findUnique({ where: { id } });
      if (!agent || (change === 'unban' && agent.status !== 'banned')) return false;
      // the eviction time starts agentRetention (retention purges the agent after it)
      await tx.agent.update({
        where: { id },
        data: { status, ...(status === 'evicted' && { evictedAt: new Date() }) },
      });
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

const AGENT_STATUSES: readonly AgentStatus[] = ['active', 'evicted', 'banned'];

/**
 * The ids of a page of agents with one of `sets` as attestor set, by id:
 * one index range per (set, status) merged, each reading at most a page of
 * agents_attestor_types_status_id_idx however rare the attestor (see
 * attestorSetsContaining). Undefined when no agent has such a set.
 */
export function agentIdsByAttestorQuery(sets: readonly string[][], filter: AgentFilter): Prisma.Sql | undefined {
  const wanted = filter.limit + 1;
  const statuses = filter.status ? [filter.status] : AGENT_STATUSES;
  const after = filter.after ? Prisma.sql`AND id > ${filter.after}::uuid` : Prisma.empty;
  const branches = sets.flatMap((set) =>
    statuses.map(
      (status) =>
        Prisma.sql`SELECT id::text AS id FROM agents WHERE attestor_types = ${set}::text[] AND status = ${status}::"AgentStatus" ${after} ORDER BY agents.id LIMIT ${wanted}`,
    ),
  );
  return branches.length === 0 ? undefined : unionOfBranches(branches, Prisma.sql`id`, wanted);
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
