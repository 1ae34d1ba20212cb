import { storableText } from '../contracts/storable-text';
import { hotStatement, type Database } from './database';

/** What the login writes need of the database: its hot-path statement runner. */
type HotRunner = Pick<Database, 'runHot'>;

/**
 * The login's one write (STYLE 4): in a single SQL statement it consumes the
 * login ID, consumes the join token if any, checks and records every TOFU
 * key, checks that no other active agent holds the SPIFFE ID, creates the
 * agent and writes the audit event, so that either all of it happens or
 * none, in one round trip. Prisma's interactive transactions would cost
 * several round trips and ~7x the CPU on this hot path.
 */
export interface LoginRecord {
  loginNonce: string;
  loginExpiresAt: Date;
  agentId: string;
  spiffeId: string;
  policy: string;
  attestorTypes: string[];
  attributes: Record<string, string[]>;
  selectors: string[];
  tofuKeys: string[];
  /** false: the node may log in again, superseding its earlier agent */
  tofu: boolean;
  joinTokenId?: string;
  svidSerial: string;
  svidExpiresAt: Date;
  sourceIp?: string;
  requestId?: string;
}

export type LoginWriteResult =
  | { outcome: 'recorded' }
  | { outcome: 'login_not_found' }
  | { outcome: 'join_token_used' }
  | { outcome: 'agent_banned'; tofuKey: string; holderId: string }
  | { outcome: 'node_already_attested'; tofuKey: string; holderId: string }
  | { outcome: 'spiffe_id_in_use'; holderId: string }
  /** lost to concurrent logins of the same node in every round: nothing written */
  | { outcome: 'contended' };

type Verdict = 'ok' | 'login_not_found' | 'join_token_used' | 'agent_banned' | 'node_already_attested' | 'spiffe_id_in_use';

export async function recordLogin(db: HotRunner, login: LoginRecord): Promise<LoginWriteResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runLoginStatement(db, login);
    } catch (error) {
      // Logins raced past the holder checks: of one node (the TOFU key's
      // partial unique index stopped the loser), or of two nodes given one
      // SPIFFE ID (the active agents' partial unique index did). The loser
      // waited for the winner's commit and its statement was rolled back
      // whole; running it again sees the winner and audits the conflict,
      // or, with tofu off, supersedes it. Only logins of one node with tofu
      // off can lose again (each round one of them wins: an agent written
      // after a statement's snapshot is one it cannot retire), so the
      // rounds are bounded; past them the caller answers "retry later".
      if (!isUniqueViolation(error)) throw error;
      if (attempt >= MAX_LOGIN_WRITE_ATTEMPTS) return { outcome: 'contended' };
    }
  }
}

/** Rounds of one login write under contention (see recordLogin): more concurrent logins of one node than a node ever sends. */
const MAX_LOGIN_WRITE_ATTEMPTS = 10;

async function runLoginStatement(db: HotRunner, login: LoginRecord): Promise<LoginWriteResult> {
  const keys = JSON.stringify(login.tofuKeys);
  const attributes = JSON.stringify(login.attributes);
  const rows = await db.runHot<{ verdict: Verdict; holder_id: string | null; holder_key: string | null; id_holder_id: string | null }>(hotStatement`
    WITH
    nonce AS (
      INSERT INTO used_nonces (kind, value, expires_at)
      VALUES ('login', ${login.loginNonce}, ${login.loginExpiresAt.toISOString()}::timestamptz)
      ON CONFLICT DO NOTHING RETURNING 1
    ),
    wanted AS (SELECT jsonb_array_elements_text(${keys}::jsonb) AS key),
    holder AS (
      SELECT k.key, a.id, a.status FROM tofu_keys k JOIN agents a ON a.id = k.agent_id
      WHERE k.active AND k.key IN (SELECT key FROM wanted)
      ORDER BY (a.status = 'banned') DESC LIMIT 1
    ),
    -- another active agent with this SPIFFE ID; the node's own earlier agent
    -- (a holder of one of its keys) is not another: with tofu off it is
    -- retired below, with tofu on the key conflict is reported first
    id_holder AS (
      SELECT a.id FROM agents a
      WHERE a.spiffe_id = ${login.spiffeId} AND a.status = 'active'
        AND a.id NOT IN (SELECT agent_id FROM tofu_keys WHERE active AND key IN (SELECT key FROM wanted))
      LIMIT 1
    ),
    blocked AS (
      SELECT CASE
        WHEN NOT EXISTS (SELECT 1 FROM nonce) THEN 'login_not_found'
        WHEN EXISTS (SELECT 1 FROM holder WHERE status = 'banned') THEN 'agent_banned'
        -- a join token a racing login used first is a used token (401), as it
        -- is for a login that starts after: not a TOFU conflict on its key
        WHEN ${login.joinTokenId ?? null}::uuid IS NOT NULL AND NOT EXISTS (
          SELECT 1 FROM join_tokens WHERE id = ${login.joinTokenId ?? null}::uuid AND used_at IS NULL AND expires_at > now()
        ) THEN 'join_token_used'
        WHEN ${login.tofu} AND EXISTS (SELECT 1 FROM holder) THEN 'node_already_attested'
        WHEN EXISTS (SELECT 1 FROM id_holder) THEN 'spiffe_id_in_use'
      END AS verdict
    ),
    token AS (
      UPDATE join_tokens SET used_at = now(), used_by_agent = ${login.agentId}::uuid
      WHERE id = ${login.joinTokenId ?? null}::uuid AND used_at IS NULL AND expires_at > now()
        AND (SELECT verdict FROM blocked) IS NULL
      RETURNING id
    ),
    verdict AS (
      SELECT COALESCE((SELECT verdict FROM blocked), CASE
        WHEN ${login.joinTokenId ?? null}::uuid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM token) THEN 'join_token_used'
        ELSE 'ok' END) AS verdict
    ),
    -- tofu off: the earlier holder's key rows move to the new agent, which
    -- supersedes it. Moving (not re-inserting) keeps the unique index happy
    -- within one statement. Order matters, and is fixed by what each step
    -- reads: the new agent row is inserted only after its source read every
    -- row of "retired", which read "superseded". So the node's earlier agent
    -- leaves the SPIFFE ID's partial unique index (checked row by row) before
    -- the new agent enters it, and every login takes its locks in one order.
    superseded AS (
      UPDATE tofu_keys t SET agent_id = ${login.agentId}::uuid
      FROM (SELECT id, key, agent_id FROM tofu_keys WHERE active AND key IN (SELECT key FROM wanted)) old
      WHERE t.id = old.id AND (SELECT verdict FROM verdict) = 'ok'
      RETURNING old.key, old.agent_id AS previous_agent
    ),
    retired AS (
      UPDATE agents SET status = 'evicted', evicted_at = now() WHERE id IN (SELECT previous_agent FROM superseded) RETURNING id
    ),
    agent AS (
      INSERT INTO agents (id, spiffe_id, policy, attestor_types, attributes, selectors, svid_serial, svid_expires_at)
      SELECT ${login.agentId}::uuid, ${login.spiffeId}, ${login.policy},
             ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(login.attestorTypes)}::jsonb)),
             ${attributes}::jsonb,
             ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(login.selectors)}::jsonb)),
             ${login.svidSerial}, ${login.svidExpiresAt.toISOString()}::timestamptz
      FROM (SELECT count(*) FROM retired) AS retired_first
      WHERE (SELECT verdict FROM verdict) = 'ok'
      RETURNING id
    ),
    recorded_keys AS (
      INSERT INTO tofu_keys (key, agent_id) SELECT key, (SELECT id FROM agent) FROM wanted
      WHERE EXISTS (SELECT 1 FROM agent) AND key NOT IN (SELECT key FROM superseded)
      RETURNING 1
    ),
    audit AS (
      INSERT INTO audit_events (event, outcome, code, reason, attestors, policy, attributes, spiffe_id, agent_id, source_ip, request_id)
      SELECT 'login',
             CASE WHEN v.verdict = 'ok' THEN 'success' ELSE 'failure' END,
             CASE v.verdict WHEN 'join_token_used' THEN 'attestation_failed' WHEN 'ok' THEN NULL ELSE v.verdict END,
             CASE v.verdict
               WHEN 'login_not_found' THEN 'login ID already completed'
               WHEN 'join_token_used' THEN 'join_token: token is unknown, expired or already used'
               WHEN 'agent_banned' THEN 'the node is banned'
               WHEN 'node_already_attested' THEN 'node already attested (TOFU)'
               WHEN 'spiffe_id_in_use' THEN 'SPIFFE ID held by another active agent'
             END,
             ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(login.attestorTypes)}::jsonb)),
             ${login.policy}, ${attributes}::jsonb,
             CASE WHEN v.verdict IN ('ok', 'spiffe_id_in_use') THEN ${login.spiffeId} END,
             CASE v.verdict WHEN 'ok' THEN ${login.agentId}::uuid WHEN 'spiffe_id_in_use' THEN (SELECT id FROM id_holder) ELSE (SELECT id FROM holder) END,
             ${login.sourceIp ?? null}, ${login.requestId ?? null}
      FROM verdict v
      RETURNING 1
    )
    SELECT v.verdict, (SELECT id::text FROM holder) AS holder_id, (SELECT key FROM holder) AS holder_key,
           (SELECT id::text FROM id_holder) AS id_holder_id,
           (SELECT count(*) FROM recorded_keys) AS keys_recorded, (SELECT count(*) FROM audit) AS audited,
           (SELECT count(*) FROM retired) AS retired
    FROM verdict v`);
  const row = rows[0];
  if (!row) throw new Error('login statement returned no row');
  switch (row.verdict) {
    case 'ok':
      return { outcome: 'recorded' };
    case 'agent_banned':
    case 'node_already_attested':
      return { outcome: row.verdict, tofuKey: row.holder_key ?? '', holderId: row.holder_id ?? '' };
    case 'spiffe_id_in_use':
      return { outcome: row.verdict, holderId: row.id_holder_id ?? '' };
    default:
      return { outcome: row.verdict };
  }
}

export function isUniqueViolation(error: unknown): boolean {
  const text = String((error as { message?: string })?.message ?? error);
  return /23505|unique constraint|duplicate key/i.test(text) || (error as { code?: string })?.code === 'P2002';
}

export interface LoginFailureRecord {
  loginNonce: string;
  loginExpiresAt: Date;
  code: string;
  reason: string;
  attestors: string[];
  policy?: string;
  attributes?: Record<string, string[]>;
  sourceIp?: string;
  requestId?: string;
}

/**
 * Audits a refused completion and uses up its login ID in one statement.
 * Returns false when the login ID had already been used: the caller then
 * answers `login_not_found`, and the audit event says so.
 */
export async function recordLoginFailure(db: HotRunner, failure: LoginFailureRecord): Promise<boolean> {
  // the reason may quote what the agent sent
  const rows = await db.runHot<{ fresh: boolean }>(hotStatement`
    WITH nonce AS (
      INSERT INTO used_nonces (kind, value, expires_at)
      VALUES ('login', ${failure.loginNonce}, ${failure.loginExpiresAt.toISOString()}::timestamptz)
      ON CONFLICT DO NOTHING RETURNING 1
    ),
    audit AS (
      INSERT INTO audit_events (event, outcome, code, reason, attestors, policy, attributes, source_ip, request_id)
      SELECT 'login', 'failure',
             CASE WHEN EXISTS (SELECT 1 FROM nonce) THEN ${failure.code} ELSE 'login_not_found' END,
             CASE WHEN EXISTS (SELECT 1 FROM nonce) THEN ${storableText(failure.reason)} ELSE 'login ID already completed' END,
             ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(failure.attestors)}::jsonb)),
             ${failure.policy ?? null}, ${failure.attributes ? JSON.stringify(storableAttributes(failure.attributes)) : null}::jsonb,
             ${failure.sourceIp ?? null}, ${failure.requestId ?? null}
      RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM nonce) AS fresh, (SELECT count(*) FROM audit) AS audited`);
  return rows[0]?.fresh === true;
}

/** A refusal's record must not be lost to its own content (jsonb refuses `\u0000` escapes too). */
function storableAttributes(attributes: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(attributes).map(([name, values]) => [storableText(name), values.map(storableText)]));
}

/**
 * Whether an error means PostgreSQL could not be reached or went away, as
 * opposed to a bug in a query: the API answers 503 and the caller may retry.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string; cause?: unknown };
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'PrismaClientInitializationError') return true;
  if (['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001', '08003'].includes(e.code ?? '')) return true;
  if (/ECONNREFUSED|ECONNRESET|Connection terminated|connection.*(closed|refused)|has closed the connection|terminating connection|too many clients|not currently accepting connections|DatabaseNotReachable|PGlite is closed/i.test(e.message ?? '')) return true;
  return e.cause !== undefined && e.cause !== error && isDatabaseUnavailable(e.cause);
}
