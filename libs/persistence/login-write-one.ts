import { hotStatement } from './database';
import { MAX_TOFU_KEYS, type HotRunner, type LoginRecord, type VerdictRow } from './login-write';

/**
 * The login write of one login (see login-write.ts), the statement a lone
 * login and a login written again after its batch failed take. The batch
 * statement decides one login the same way, but its set-based joins cost
 * PostgreSQL about a third more CPU than this one for a single login
 * (bench/login-write-batch.ts), and a quiet server must not pay for
 * batching it does not do.
 *
 * "wanted" is bounded (LIMIT, MAX_TOFU_KEYS) so that the generic plan
 * (database.ts) estimates 16 keys, not 100: with 100 it sequential-scanned
 * tofu_keys twice per login between about 5,000 and 25,000 agents.
 */
export async function writeOneLogin(db: HotRunner, login: LoginRecord): Promise<VerdictRow> {
  if (login.tofuKeys.length > MAX_TOFU_KEYS)
    throw new Error(`login write: ${login.tofuKeys.length} TOFU keys, more than ${MAX_TOFU_KEYS}`);
  const keys = JSON.stringify(login.tofuKeys);
  const attributes = JSON.stringify(login.attributes);
  const rows = await db.runHot<VerdictRow>(hotStatement`
    WITH
    nonce AS (
      INSERT INTO used_nonces (kind, value, expires_at)
      VALUES ('login', ${login.loginNonce}, ${login.loginExpiresAt.toISOString()}::timestamptz)
      ON CONFLICT DO NOTHING RETURNING 1
    ),
    wanted AS (SELECT jsonb_array_elements_text(${keys}::jsonb) AS key LIMIT 16), -- MAX_TOFU_KEYS
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
    SELECT 0 AS i, v.verdict, (SELECT id::text FROM holder) AS holder_id, (SELECT key FROM holder) AS holder_key,
           (SELECT id::text FROM id_holder) AS id_holder_id,
           (SELECT count(*) FROM recorded_keys) AS keys_recorded, (SELECT count(*) FROM audit) AS audited,
           (SELECT count(*) FROM retired) AS retired
    FROM verdict v`);
  const row = rows[0];
  if (!row) throw new Error('login statement returned no row');
  return row;
}
