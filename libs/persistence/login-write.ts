import { storableText } from '@libs/contracts/storable-text';
import { hotStatement, type Database } from './database';
import { writeOneLogin } from './login-write-one';

/** What the login writes need of the database: its hot-path statement runner. */
export type HotRunner = Pick<Database, 'runHot'>;

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

type Verdict =
  'ok' | 'login_not_found' | 'join_token_used' | 'agent_banned' | 'node_already_attested' | 'spiffe_id_in_use';

/**
 * Logins one statement writes at most. The statement bounds its input by
 * it (and each login's keys by MAX_TOFU_KEYS), so that the generic plan
 * (database.ts) estimates a few rows, not 100 per set-returning function,
 * and probes the indexes of tofu_keys and agents at every table size.
 */
export const MAX_LOGINS_PER_WRITE = 32;
/** TOFU keys of one login at most: one per attestor of its policy. */
export const MAX_TOFU_KEYS = 16;

/**
 * The login's one write (STYLE 4): in a single SQL statement it consumes the
 * login ID, consumes the join token if any, checks and records every TOFU
 * key, checks that no other active agent holds the SPIFFE ID, creates the
 * agent and writes the audit event, so that either all of it happens or
 * none, in one round trip. Prisma's interactive transactions would cost
 * several round trips and ~7x the CPU on this hot path.
 *
 * recordLogins writes up to MAX_LOGINS_PER_WRITE logins in one such
 * statement, each decided on its own (login-batch.ts gathers them): one
 * transaction and one durable commit for many logins is most of the
 * write's cost saved. A single login takes login-write-one.ts's statement.
 */
export async function recordLogin(db: HotRunner, login: LoginRecord): Promise<LoginWriteResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await recordLogins(db, [login]))[0]!;
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

/** What one login is to the batch statement: its fields, its place in the batch. */
function batchRow(login: LoginRecord, i: number) {
  if (login.tofuKeys.length > MAX_TOFU_KEYS)
    throw new Error(`login write: ${login.tofuKeys.length} TOFU keys, more than ${MAX_TOFU_KEYS}`);
  return {
    i,
    nonce: login.loginNonce,
    nonce_expires_at: login.loginExpiresAt.toISOString(),
    agent_id: login.agentId,
    spiffe_id: login.spiffeId,
    policy: login.policy,
    attestor_types: login.attestorTypes,
    attributes: login.attributes,
    selectors: login.selectors,
    tofu_keys: login.tofuKeys,
    tofu: login.tofu,
    join_token_id: login.joinTokenId ?? null,
    svid_serial: login.svidSerial,
    svid_expires_at: login.svidExpiresAt.toISOString(),
    source_ip: login.sourceIp ?? null,
    request_id: login.requestId ?? null,
  };
}

export interface VerdictRow {
  i: number;
  verdict: Verdict;
  holder_id: string | null;
  holder_key: string | null;
  id_holder_id: string | null;
}

/**
 * Writes up to MAX_LOGINS_PER_WRITE logins in one statement, each decided
 * against what was committed before it and on its own: one login's used
 * nonce, spent token, TOFU conflict or taken SPIFFE ID refuses that login
 * only. The logins must not share a nonce, TOFU key, join token or SPIFFE
 * ID (one statement cannot see its own rows; login-batch.ts keeps such
 * logins apart). A login that races another transaction makes the whole
 * statement fail (unique violation): the caller writes each again alone.
 * A single login takes the one-login statement (login-write-one.ts).
 */
export async function recordLogins(db: HotRunner, logins: readonly LoginRecord[]): Promise<LoginWriteResult[]> {
  if (logins.length === 0) return [];
  if (logins.length === 1) return [resultOf(await writeOneLogin(db, logins[0]!))];
  if (logins.length > MAX_LOGINS_PER_WRITE)
    throw new Error(`login write: ${logins.length} logins, more than ${MAX_LOGINS_PER_WRITE}`);
  const batch = JSON.stringify(logins.map(batchRow));
  const rows = await db.runHot<VerdictRow>(hotStatement`
    WITH
    batch AS MATERIALIZED (
      SELECT * FROM jsonb_to_recordset(${batch}::jsonb) AS l(
        i int, nonce text, nonce_expires_at timestamptz, agent_id uuid, spiffe_id text, policy text,
        attestor_types text[], attributes jsonb, selectors text[], tofu_keys text[], tofu boolean,
        join_token_id uuid, svid_serial text, svid_expires_at timestamptz, source_ip text, request_id text)
      LIMIT 32
    ),
    wanted AS MATERIALIZED (SELECT b.i, k.key FROM batch b, unnest(b.tofu_keys) AS k(key) LIMIT 512),
    nonce AS (
      INSERT INTO used_nonces (kind, value, expires_at)
      SELECT 'login', nonce, nonce_expires_at FROM batch ORDER BY nonce
      ON CONFLICT DO NOTHING RETURNING value
    ),
    -- the active rows of each login's keys, with their agents. "= ANY" per
    -- login, not a join with "wanted": a join the generic plan would think
    -- 320 rows wide, and hash against the whole of tofu_keys
    held AS MATERIALIZED (
      SELECT b.i, k.id AS key_id, k.key, a.id, a.status FROM batch b
      JOIN tofu_keys k ON k.key = ANY (b.tofu_keys) AND k.active JOIN agents a ON a.id = k.agent_id
    ),
    holder AS (SELECT DISTINCT ON (i) i, key, id, status FROM held ORDER BY i, (status = 'banned') DESC),
    -- another active agent with the login's SPIFFE ID; the node's own earlier
    -- agent (a holder of one of its keys) is not another: with tofu off it is
    -- retired below, with tofu on the key conflict is reported first
    id_holder AS (
      SELECT DISTINCT ON (b.i) b.i, a.id FROM batch b JOIN agents a ON a.spiffe_id = b.spiffe_id AND a.status = 'active'
      WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.i = b.i AND h.id = a.id)
      ORDER BY b.i
    ),
    blocked AS (
      SELECT b.i, CASE
        WHEN n.value IS NULL THEN 'login_not_found'
        WHEN h.status = 'banned' THEN 'agent_banned'
        -- a join token a racing login used first is a used token (401), as it
        -- is for a login that starts after: not a TOFU conflict on its key
        WHEN b.join_token_id IS NOT NULL AND NOT EXISTS (
          SELECT 1 FROM join_tokens j WHERE j.id = b.join_token_id AND j.used_at IS NULL AND j.expires_at > now()
        ) THEN 'join_token_used'
        WHEN b.tofu AND h.id IS NOT NULL THEN 'node_already_attested'
        WHEN ih.id IS NOT NULL THEN 'spiffe_id_in_use'
      END AS verdict
      FROM batch b LEFT JOIN nonce n ON n.value = b.nonce LEFT JOIN holder h ON h.i = b.i LEFT JOIN id_holder ih ON ih.i = b.i
    ),
    token AS (
      UPDATE join_tokens j SET used_at = now(), used_by_agent = b.agent_id
      FROM batch b JOIN blocked x ON x.i = b.i
      WHERE j.id = b.join_token_id AND j.used_at IS NULL AND j.expires_at > now() AND x.verdict IS NULL
      RETURNING b.i
    ),
    verdict AS (
      SELECT b.i, COALESCE(x.verdict, CASE WHEN b.join_token_id IS NOT NULL AND t.i IS NULL THEN 'join_token_used' ELSE 'ok' END) AS verdict
      FROM batch b JOIN blocked x ON x.i = b.i LEFT JOIN token t ON t.i = b.i
    ),
    admitted AS (SELECT b.* FROM batch b JOIN verdict v ON v.i = b.i WHERE v.verdict = 'ok'),
    -- tofu off: the earlier holder's key rows move to the new agent, which
    -- supersedes it. Moving (not re-inserting) keeps the unique index happy
    -- within one statement. Order matters, and is fixed by what each step
    -- reads: the new agent rows are inserted only after their source read
    -- every row of "retired", which read "superseded". So a node's earlier
    -- agent leaves the SPIFFE ID's partial unique index (checked row by row)
    -- before the new agent enters it, and every write takes its locks in one
    -- order (within a table, in the order of the rows' keys).
    superseded AS (
      UPDATE tofu_keys t SET agent_id = o.agent_id
      FROM held h JOIN admitted o ON o.i = h.i
      WHERE t.id = h.key_id
      RETURNING h.key, h.id AS previous_agent
    ),
    retired AS (
      UPDATE agents SET status = 'evicted', evicted_at = now() WHERE id IN (SELECT previous_agent FROM superseded) RETURNING id
    ),
    agent AS (
      INSERT INTO agents (id, spiffe_id, policy, attestor_types, attributes, selectors, svid_serial, svid_expires_at)
      SELECT o.agent_id, o.spiffe_id, o.policy, o.attestor_types, o.attributes, o.selectors, o.svid_serial, o.svid_expires_at
      FROM admitted o, (SELECT count(*) FROM retired) AS retired_first
      ORDER BY o.spiffe_id
      RETURNING id
    ),
    recorded_keys AS (
      INSERT INTO tofu_keys (key, agent_id)
      SELECT w.key, o.agent_id FROM wanted w JOIN admitted o ON o.i = w.i
      WHERE o.agent_id IN (SELECT id FROM agent) AND w.key NOT IN (SELECT key FROM superseded)
      ORDER BY w.key
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
             b.attestor_types, b.policy, b.attributes,
             CASE WHEN v.verdict IN ('ok', 'spiffe_id_in_use') THEN b.spiffe_id END,
             CASE v.verdict WHEN 'ok' THEN b.agent_id WHEN 'spiffe_id_in_use' THEN ih.id ELSE h.id END,
             b.source_ip, b.request_id
      FROM batch b JOIN verdict v ON v.i = b.i LEFT JOIN holder h ON h.i = b.i LEFT JOIN id_holder ih ON ih.i = b.i
      ORDER BY b.i
      RETURNING 1
    )
    SELECT v.i, v.verdict, h.id::text AS holder_id, h.key AS holder_key, ih.id::text AS id_holder_id,
           (SELECT count(*) FROM recorded_keys) AS keys_recorded, (SELECT count(*) FROM audit) AS audited,
           (SELECT count(*) FROM retired) AS retired
    FROM verdict v LEFT JOIN holder h ON h.i = v.i LEFT JOIN id_holder ih ON ih.i = v.i`);
  const results: LoginWriteResult[] = new Array(logins.length);
  for (const row of rows) results[row.i] = resultOf(row);
  if (rows.length !== logins.length || results.includes(undefined as never))
    throw new Error('login statement did not decide every login');
  return results;
}

function resultOf(row: VerdictRow): LoginWriteResult {
  switch (row.verdict) {
    case 'ok':
      return { outcome: 'recorded' };
    case 'agent_banned':
    case 'node_already_attested':
      return { outcome: row.verdict, tofuKey: row.holder_key ?? '', holderId: row.holder_id ?? '' };
    case 'spiffe_id_in_use':
      return { outcome: row.verdict, holderId: row.id_holder_id ?? '' };
    case 'login_not_found':
    case 'join_token_used':
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
  return Object.fromEntries(
    Object.entries(attributes).map(([name, values]) => [storableText(name), values.map(storableText)]),
  );
}

/**
 * Whether an error means PostgreSQL could not be reached or went away, as
 * opposed to a bug in a query: the API answers 503 and the caller may retry.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string; cause?: unknown };
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'PrismaClientInitializationError') return true;
  if (
    [
      'P1001',
      'P1002',
      'P1008',
      'P1017',
      'P2024',
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      '57P01',
      '57P03',
      '08006',
      '08001',
      '08003',
    ].includes(e.code ?? '')
  )
    return true;
  if (
    /ECONNREFUSED|ECONNRESET|Connection terminated|connection.*(closed|refused)|has closed the connection|terminating connection|too many clients|not currently accepting connections|DatabaseNotReachable|PGlite is closed/i.test(
      e.message ?? '',
    )
  )
    return true;
  return e.cause !== undefined && e.cause !== error && isDatabaseUnavailable(e.cause);
}
