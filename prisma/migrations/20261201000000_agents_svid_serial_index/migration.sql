-- Renewals and JWT-SVID requests find the agent by the serial of the SVID it
-- presents; without an index every one scans the agents table.
CREATE INDEX "agents_svid_serial_idx" ON "agents"("svid_serial");
