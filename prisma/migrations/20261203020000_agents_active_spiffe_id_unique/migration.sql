-- Two active agents never share a SPIFFE ID, on every replica: a template
-- fed by values a node's owner chooses (an EC2 Name tag, an STS session
-- name) could otherwise hand one node's identity to another.
--
-- Agents written before this index may already share one. Per SPIFFE ID,
-- the agent that attested first keeps it; the others are evicted as an
-- operator's `evict` would (their TOFU keys freed, so the node may attest
-- again) and each eviction is audited.
WITH ranked AS (
    SELECT "id", row_number() OVER (PARTITION BY "spiffe_id" ORDER BY "first_attested_at", "id") AS "rank"
    FROM "agents" WHERE "status" = 'active'
),
evicted AS (
    UPDATE "agents" SET "status" = 'evicted'
    WHERE "id" IN (SELECT "id" FROM ranked WHERE "rank" > 1)
    RETURNING "id", "spiffe_id", "policy", "attestor_types"
),
freed AS (
    UPDATE "tofu_keys" SET "active" = false
    WHERE "active" AND "agent_id" IN (SELECT "id" FROM evicted)
)
INSERT INTO "audit_events" ("event", "outcome", "code", "reason", "attestors", "policy", "spiffe_id", "agent_id", "actor")
SELECT 'evict', 'success', 'spiffe_id_in_use', 'another active agent held this SPIFFE ID first (migration 20261203020000)',
       "attestor_types", "policy", "spiffe_id", "id", 'migration'
FROM evicted;

-- A partial unique index, checked row by row as each row is written. The
-- login write (libs/persistence/login-write.ts), which with `tofu: false`
-- retires a node's earlier agent and inserts its new one with the same
-- SPIFFE ID in ONE statement, retires first: its insert reads the retiring
-- step's every row before it writes. A deferrable EXCLUDE constraint would
-- not need that order, but its checks run at commit and wait for other
-- uncommitted rows, so two logins racing for one ID could each wait for the
-- other (a deadlock, broken only after deadlock_timeout); a btree unique
-- check waits at the insert, for the one that inserted first.
CREATE UNIQUE INDEX "agents_active_spiffe_id_key" ON "agents" ("spiffe_id") WHERE "status" = 'active';
