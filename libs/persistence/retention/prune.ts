import type { MaintenanceSession } from '../database';

/**
 * One batch of each row delete the retention job makes. Each is one short
 * statement (its own transaction) that touches only rows no login reads or
 * writes any more: expired nonces, expired join tokens, agents long dead.
 * The job repeats a batch until it comes back short.
 */

/** Used login IDs, challenges and `jti`s that expired before `before`. */
export async function pruneUsedNonces(session: MaintenanceSession, before: Date, batchRows: number): Promise<number> {
  return count(
    await session.query<{ n: string }>(
      `WITH gone AS (
         DELETE FROM used_nonces WHERE ctid = ANY (ARRAY(SELECT ctid FROM used_nonces WHERE expires_at < $1 LIMIT $2)) RETURNING 1
       ) SELECT count(*) AS n FROM gone`,
      [before.toISOString(), batchRows],
    ),
  );
}

/**
 * Join tokens that expired before `before` and were never used, or whose
 * agent is gone (purged): a used token stays while its agent does, as the
 * record of who let that agent in.
 */
export async function pruneJoinTokens(session: MaintenanceSession, before: Date, batchRows: number): Promise<number> {
  return count(
    await session.query<{ n: string }>(
      `WITH gone AS (
         DELETE FROM join_tokens WHERE id IN (
           SELECT t.id FROM join_tokens t
           WHERE t.expires_at < $1 AND (t.used_at IS NULL OR NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = t.used_by_agent))
           LIMIT $2)
         RETURNING 1
       ) SELECT count(*) AS n FROM gone`,
      [before.toISOString(), batchRows],
    ),
  );
}

export interface PurgedAgents {
  agents: number;
  tofuKeys: number;
  /** active agents among them: their TOFU keys were released, and an `evict` event says so */
  released: number;
}

/**
 * Agents evicted before `before`, and active agents whose SVID expired
 * before it, with all their TOFU key rows; banned agents are never touched,
 * so their keys keep blocking the node. An active agent's keys were still
 * held, so its purge frees the node to attest again, as an eviction would:
 * it is audited as an `evict` by `actor`, in the same statement.
 */
export async function purgeAgents(
  session: MaintenanceSession,
  before: Date,
  batchRows: number,
  actor: string,
  reason: string,
): Promise<PurgedAgents> {
  const rows = await session.query<{ agents: string; tofu_keys: string; released: string }>(
    `WITH
     doomed AS (
       SELECT id, status, spiffe_id, policy, attestor_types FROM agents
       WHERE (status = 'evicted' AND evicted_at < $1) OR (status = 'active' AND svid_expires_at < $1)
       LIMIT $2
       -- an agent an operator is changing now is left for the next pass
       FOR UPDATE SKIP LOCKED
     ),
     keys AS (DELETE FROM tofu_keys WHERE agent_id IN (SELECT id FROM doomed) RETURNING 1),
     gone AS (DELETE FROM agents WHERE id IN (SELECT id FROM doomed) RETURNING id),
     audit AS (
       INSERT INTO audit_events (event, outcome, reason, attestors, policy, spiffe_id, agent_id, actor)
       SELECT 'evict', 'success', $4, attestor_types, policy, spiffe_id, id, $3 FROM doomed WHERE status = 'active'
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM gone) AS agents, (SELECT count(*) FROM keys) AS tofu_keys, (SELECT count(*) FROM audit) AS released`,
    [before.toISOString(), batchRows, actor, reason],
  );
  const row = rows[0];
  return {
    agents: Number(row?.agents ?? 0),
    tofuKeys: Number(row?.tofu_keys ?? 0),
    released: Number(row?.released ?? 0),
  };
}

function count(rows: { n: string }[]): number {
  return Number(rows[0]?.n ?? 0);
}
