import { hotStatement } from './database';
import { GroupCommit, type GroupCommitOptions } from './group-commit';
import type { HotRunner } from './login-write';

/**
 * The agent's side of renewals and JWT-SVIDs. Each write is ONE SQL
 * statement (STYLE 4): it consumes the proof's `jti` (a unique row, so a
 * replay fails on every replica), checks that the agent is active and that
 * the presented SVID is one it may use, updates the agent and writes the
 * audit event, all or nothing. It answers the agent's policy too, so a
 * renewal reads nothing before it (`Renewal.renew`).
 *
 * Which SVIDs an agent may present: its current one, and, until that
 * current one is first presented, the one it was renewed from. A renewal
 * whose answer was lost (a dropped connection, an agent killed before it
 * wrote its files) thus leaves the agent with an SVID that still renews:
 *
 *   renew from the current C:        (previous, current) → (C, new)
 *   renew from the previous P:       (P, current) → (P, new); the unused current is abandoned
 *   JWT-SVID from the current C:     (previous, C) → (null, C): the previous is refused from now on
 *   JWT-SVID from the previous P:    unchanged
 *
 * The previous serial is non-null exactly while the current SVID has never
 * been presented. The update is conditioned on the row as the statement read
 * it, so of concurrent requests from one SVID (on any replica) exactly one
 * moves the row; the others find it changed under their row lock and are
 * refused as not current.
 */
interface Presented {
  /** the SPIFFE ID and serial of the verified certificate */
  spiffeId: string;
  serial: string;
  jti: string;
  /** after this the proof is refused by its `iat` anyway, so the jti row may go */
  jtiExpiresAt: Date;
  sourceIp?: string;
  requestId?: string;
}

export interface RenewalRecord extends Presented {
  newSerial: string;
  newExpiresAt: Date;
}

export type AgentWriteVerdict = 'ok' | 'not_current' | 'agent_evicted' | 'agent_banned' | 'replayed';

/** One presented SVID's write, whichever request it is. */
export interface Presentation extends Presented {
  event: 'renew' | 'jwt_svid';
  /** the audit reason of a success */
  okReason: string;
  /** a renewal's new SVID */
  next?: { serial: string; expiresAt: Date };
}

/** the statement's own bound on the presentations it takes */
export const MAX_PRESENTATIONS_PER_WRITE = 32;

/**
 * Renewals and JWT-SVIDs are a fleet's steady load; their writes are
 * group-committed as logins are (`group-commit.ts`).
 */
export const DEFAULT_RENEWAL_BATCH: GroupCommitOptions = { maxWaitMs: 2, maxItems: MAX_PRESENTATIONS_PER_WRITE };

export interface AgentWriteResult {
  verdict: AgentWriteVerdict;
  agentId: string | null;
  /**
   * the agent's policy as the statement read it, whatever the verdict; null
   * when no agent holds the SVID. A renewal learns its new SVID's lifetime
   * from it, so it need not read the agent row first.
   */
  policy: string | null;
}

/**
 * Its statements go straight to the driver as hot statements
 * (`database.ts`): renewals are a fleet's steady-state load, and Prisma's
 * query paths cost a few hundred µs of CPU per call on top of the SQL.
 */
export class RenewalRepository {
  private readonly group: GroupCommit<Presentation, AgentWriteResult>;

  constructor(
    private readonly db: HotRunner,
    options: GroupCommitOptions = DEFAULT_RENEWAL_BATCH,
  ) {
    this.group = new GroupCommit<Presentation, AgentWriteResult>(
      {
        one: async (item) => (await presentSvids(this.db, [item]))[0]!,
        many: (items) => presentSvids(this.db, items),
        // one agent row per statement: an UPDATE … FROM moves a row once
        claims: (item) => [`agent ${item.spiffeId}`, `jti ${item.jti}`],
      },
      options,
    );
  }

  /** Consumes the jti and moves the agent to its new SVID, auditing `renew`. */
  recordRenewal(record: RenewalRecord): Promise<AgentWriteResult> {
    return this.group.write({
      ...record,
      event: 'renew',
      okReason: `new serial ${record.newSerial}`,
      next: { serial: record.newSerial, expiresAt: record.newExpiresAt },
    });
  }

  /**
   * Sets the expiry of the agent's current SVID, when a renewal recorded
   * one before it knew the agent's policy (`Renewal.renew`) and the
   * certificate it then signed expires at another time. Only while that
   * SVID is still the current one: a later renewal's expiry stays.
   */
  async correctSvidExpiry(agentId: string, serial: string, expiresAt: Date): Promise<void> {
    await this.db.runHot(hotStatement`
      UPDATE agents SET svid_expires_at = ${expiresAt.toISOString()}::timestamptz
      WHERE id = ${agentId}::uuid AND svid_serial = ${serial}`);
  }

  /** Consumes the jti of a JWT-SVID request from the agent's current SVID, auditing `jwt_svid`. */
  recordJwtSvid(record: Presented & { audience: string[] }): Promise<AgentWriteResult> {
    return this.group.write({
      ...record,
      event: 'jwt_svid',
      okReason: `audience ${record.audience.join(' ')}`.slice(0, 1024),
    });
  }
}

/**
 * The one statement both writes are, for one presentation or several, each
 * decided on its own against what was committed before it: the agent is
 * touched (and moved to `next` when a renewal gives one) only when the jti
 * was fresh, the presented SVID is its current or previous one, and the row
 * is still as the statement read it. At most one presentation
 * per agent and per jti (the group commit keeps them apart): an UPDATE …
 * FROM moves a row once, and a statement cannot see its own rows.
 *
 * Agent rows are not locked in a fixed order: two replicas' batches that
 * touch the same two agents in opposite orders (each agent with requests on
 * both replicas at the same moment) deadlock, PostgreSQL aborts one after
 * `deadlock_timeout`, and the group commit writes its presentations again
 * one at a time. Locking the rows first (`FOR UPDATE`) would order them but
 * re-read each at its newest version, letting two renewals from one SVID
 * both succeed.
 */
export async function presentSvids(db: HotRunner, items: Presentation[]): Promise<AgentWriteResult[]> {
  if (items.length > MAX_PRESENTATIONS_PER_WRITE)
    throw new Error(`presentSvids: at most ${MAX_PRESENTATIONS_PER_WRITE} at a time`);
  const batch = items.map((p, i) => ({
    i,
    spiffe_id: p.spiffeId,
    serial: p.serial,
    jti: p.jti,
    jti_expires_at: p.jtiExpiresAt.toISOString(),
    event: p.event,
    ok_reason: p.okReason,
    next_serial: p.next?.serial ?? null,
    next_expires_at: p.next?.expiresAt.toISOString() ?? null,
    source_ip: p.sourceIp ?? null,
    request_id: p.requestId ?? null,
  }));
  const rows = await db.runHot<{
    i: number;
    verdict: AgentWriteVerdict;
    agent_id: string | null;
    policy: string | null;
  }>(hotStatement`
    WITH
    batch AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(batch)}::jsonb) AS b(
        i int, spiffe_id text, serial text, jti text, jti_expires_at timestamptz, event text, ok_reason text,
        next_serial text, next_expires_at timestamptz, source_ip text, request_id text)
      LIMIT 32
    ),
    agent AS (
      -- per presentation: agents_svid_serial_idx and agents_previous_svid_serial_idx (a BitmapOr)
      SELECT b.i, a.id, a.status, a.policy, a.attestor_types, a.svid_serial, a.previous_svid_serial
      FROM batch b CROSS JOIN LATERAL (
        SELECT id, status, policy, attestor_types, svid_serial, previous_svid_serial FROM agents
        WHERE spiffe_id = b.spiffe_id AND (svid_serial = b.serial OR previous_svid_serial = b.serial)
        LIMIT 1
      ) a
    ),
    nonce AS (
      INSERT INTO used_nonces (kind, value, expires_at)
      SELECT 'jti', b.jti, b.jti_expires_at FROM batch b ORDER BY b.jti
      ON CONFLICT DO NOTHING RETURNING value
    ),
    updated AS (
      UPDATE agents a SET
        svid_serial = COALESCE(b.next_serial, a.svid_serial),
        svid_expires_at = COALESCE(b.next_expires_at, a.svid_expires_at),
        previous_svid_serial = CASE
          WHEN b.next_serial IS NOT NULL THEN b.serial
          WHEN a.svid_serial = b.serial THEN NULL
          ELSE a.previous_svid_serial END,
        last_seen_at = now()
      FROM batch b JOIN agent seen ON seen.i = b.i
      WHERE a.id = seen.id AND a.status = 'active'
        AND a.svid_serial = seen.svid_serial AND a.previous_svid_serial IS NOT DISTINCT FROM seen.previous_svid_serial
        AND b.jti IN (SELECT value FROM nonce)
      RETURNING b.i
    ),
    verdict AS (
      SELECT b.i, CASE
        WHEN s.i IS NULL THEN 'not_current'
        WHEN s.status = 'banned' THEN 'agent_banned'
        WHEN s.status = 'evicted' THEN 'agent_evicted'
        WHEN b.jti NOT IN (SELECT value FROM nonce) THEN 'replayed'
        WHEN u.i IS NULL THEN 'not_current'
        ELSE 'ok' END AS verdict
      FROM batch b LEFT JOIN agent s ON s.i = b.i LEFT JOIN updated u ON u.i = b.i
    ),
    audit AS (
      INSERT INTO audit_events (event, outcome, code, reason, attestors, policy, spiffe_id, agent_id, source_ip, request_id)
      SELECT b.event,
             CASE WHEN v.verdict = 'ok' THEN 'success' ELSE 'failure' END,
             CASE v.verdict WHEN 'ok' THEN NULL WHEN 'agent_evicted' THEN 'agent_evicted' WHEN 'agent_banned' THEN 'agent_banned'
               ELSE 'invalid_proof_of_possession' END,
             CASE v.verdict
               WHEN 'ok' THEN b.ok_reason
               WHEN 'not_current' THEN 'the certificate is not the agent''s current SVID'
               WHEN 'replayed' THEN 'pop: jti was already used'
               WHEN 'agent_evicted' THEN 'the agent is evicted'
               WHEN 'agent_banned' THEN 'the agent is banned'
             END,
             COALESCE(s.attestor_types, ARRAY[]::text[]), s.policy, b.spiffe_id, s.id, b.source_ip, b.request_id
      FROM batch b JOIN verdict v ON v.i = b.i LEFT JOIN agent s ON s.i = b.i
      ORDER BY b.i
      RETURNING 1
    )
    SELECT v.i, v.verdict, s.id::text AS agent_id, s.policy, (SELECT count(*) FROM audit) AS audited
    FROM verdict v LEFT JOIN agent s ON s.i = v.i`);
  const results: AgentWriteResult[] = new Array(items.length);
  for (const row of rows) results[row.i] = { verdict: row.verdict, agentId: row.agent_id, policy: row.policy };
  if (rows.length !== items.length || results.includes(undefined as never))
    throw new Error('agent write statement did not decide every presentation');
  return results;
}
