-- Retention (docs/operations/retention.md): what the retention job needs of
-- the schema.
--
-- 1. audit_events becomes range-partitioned by "at", so that expired events
--    go a partition at a time (a catalog change and a file unlink) instead
--    of millions of row deletes, their WAL and the vacuum after them. The
--    retention job makes partitions ahead of time and drops expired ones;
--    audit_events_default takes any row no partition covers, so an insert
--    never fails for lack of one.
--
--    A partitioned table's primary key must hold the partition key. It is
--    (at, id): ids still come from one sequence and stay unique, and the
--    audit list, newest first, reads it in order partition by partition.
--    The GIN index serves `attestor=` filters.
--
--    Existing rows are not copied: the old table is attached as it is, as
--    the partition audit_events_legacy for all time up to the end of the
--    day of this upgrade (UTC). That costs one read of the table (the
--    CHECK) and two index builds, where a copy would write every row again
--    with its indexes. The retention job deletes its expired rows in
--    batches and drops it once it is wholly past retention.

ALTER TABLE "audit_events" RENAME TO "audit_events_legacy";
ALTER TABLE "audit_events_legacy" DROP CONSTRAINT "audit_events_pkey";
DROP INDEX "audit_events_at_idx";
ALTER INDEX "audit_events_agent_id_id_idx" RENAME TO "audit_events_legacy_agent_id_id_idx";

CREATE TABLE "audit_events" (
    "id" BIGINT NOT NULL DEFAULT nextval('audit_events_id_seq'),
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "event" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "code" TEXT,
    "reason" TEXT,
    "attestors" TEXT[] NOT NULL,
    "policy" TEXT,
    "attributes" JSONB,
    "spiffe_id" TEXT,
    "agent_id" UUID,
    "source_ip" TEXT,
    "request_id" TEXT,
    "actor" TEXT,
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("at", "id")
) PARTITION BY RANGE ("at");
-- The sequence moves to the new table, so that dropping the legacy
-- partition one day does not drop the sequence with it.
ALTER SEQUENCE "audit_events_id_seq" OWNED BY "audit_events"."id";
CREATE INDEX "audit_events_agent_id_id_idx" ON "audit_events"("agent_id", "id");
-- fastupdate off: no pending list whose flush an unlucky login would pay for
CREATE INDEX "audit_events_attestors_idx" ON "audit_events" USING GIN ("attestors") WITH (fastupdate = off);

CREATE TABLE "audit_events_default" PARTITION OF "audit_events" DEFAULT;

DO $$
DECLARE
  upper_bound timestamptz;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "audit_events_legacy") THEN
    DROP TABLE "audit_events_legacy";
    RETURN;
  END IF;
  SELECT greatest(date_trunc('day', now(), 'UTC'), date_trunc('day', max("at"), 'UTC')) + interval '1 day'
    INTO upper_bound FROM "audit_events_legacy";
  -- A valid CHECK that implies the partition's range spares ATTACH its own scan.
  EXECUTE format('ALTER TABLE "audit_events_legacy" ADD CONSTRAINT "audit_events_legacy_range" CHECK ("at" < %L)', upper_bound);
  ALTER TABLE "audit_events_legacy" ALTER COLUMN "id" DROP DEFAULT;
  EXECUTE format('ALTER TABLE "audit_events" ATTACH PARTITION "audit_events_legacy" FOR VALUES FROM (MINVALUE) TO (%L)', upper_bound);
END $$;

-- 2. When an agent became evicted: evicted agents are purged agentRetention
--    after it. Agents evicted before this upgrade count from the upgrade.
ALTER TABLE "agents" ADD COLUMN "evicted_at" TIMESTAMPTZ(3);
UPDATE "agents" SET "evicted_at" = CURRENT_TIMESTAMP WHERE "status" = 'evicted';
CREATE INDEX "agents_evicted_at_idx" ON "agents"("evicted_at");
-- Agents whose SVID expired agentRetention ago are found by this index
-- rather than by reading every agent each pass.
CREATE INDEX "agents_svid_expires_at_idx" ON "agents"("svid_expires_at");
