-- Lists filtered by attestor (`attestor=` of GET /v1/agents and /v1/audit): the agents
-- list and the audit list read one index range per attestor set that
-- contains the attestor (libs/persistence/attestor-sets.ts), so each reads
-- at most a page whether the attestor is common, rare or absent. Their
-- index leads with the set and is ordered as the list is. The sets
-- themselves are found by skipping through the same index.
--
-- The GIN index on audit_events.attestors served "contains" filters, but
-- PostgreSQL preferred walking the primary key and filtering whenever it
-- guessed the attestor common enough, which reads every row when it is
-- absent; it is no longer read, and each login no longer pays its upkeep.

CREATE INDEX "agents_attestor_types_status_id_idx" ON "agents"("attestor_types", "status", "id");

DROP INDEX IF EXISTS "audit_events_attestors_idx";
CREATE INDEX "audit_events_attestors_at_id_idx" ON "audit_events"("attestors", "at", "id");
