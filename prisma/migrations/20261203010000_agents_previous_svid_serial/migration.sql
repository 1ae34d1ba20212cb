-- A renewal whose answer is lost must not lock the agent out: the agent
-- row keeps the serial it renewed from until the new SVID is first used
-- (libs/persistence/renewal.repository.ts). NULL once the current SVID has
-- been presented, and after a login.
ALTER TABLE "agents" ADD COLUMN "previous_svid_serial" TEXT;

-- Renewals and JWT-SVID requests look the presented serial up in either
-- column. Partial: most rows hold no previous serial (it is cleared when the
-- new SVID is first used), so the index stays small.
CREATE INDEX "agents_previous_svid_serial_idx" ON "agents"("previous_svid_serial") WHERE "previous_svid_serial" IS NOT NULL;
