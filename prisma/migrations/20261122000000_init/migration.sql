-- attestd initial schema. Written by hand to match prisma/schema.prisma
-- (the schema engine that `prisma migrate dev` needs is not always at hand);
-- `prisma migrate deploy` and the server's migrator both apply it.

CREATE TYPE "AgentStatus" AS ENUM ('active', 'evicted', 'banned');

CREATE TABLE "agents" (
    "id" UUID NOT NULL,
    "spiffe_id" TEXT NOT NULL,
    "status" "AgentStatus" NOT NULL DEFAULT 'active',
    "policy" TEXT NOT NULL,
    "attestor_types" TEXT[] NOT NULL,
    "attributes" JSONB NOT NULL,
    "selectors" TEXT[] NOT NULL,
    "first_attested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "svid_serial" TEXT,
    "svid_expires_at" TIMESTAMPTZ(3),
    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "agents_status_id_idx" ON "agents"("status", "id");

CREATE TABLE "tofu_keys" (
    "id" BIGSERIAL NOT NULL,
    "key" TEXT NOT NULL,
    "agent_id" UUID NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "tofu_keys_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "tofu_keys_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE INDEX "tofu_keys_agent_id_idx" ON "tofu_keys"("agent_id");
-- TOFU across replicas: at most one active holder per key.
CREATE UNIQUE INDEX "tofu_keys_active_key" ON "tofu_keys"("key") WHERE "active";

CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
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
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "audit_events_at_idx" ON "audit_events"("at");
CREATE INDEX "audit_events_agent_id_id_idx" ON "audit_events"("agent_id", "id");

CREATE TABLE "config_versions" (
    "section" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "document" JSONB NOT NULL,
    "source" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT NOT NULL,
    CONSTRAINT "config_versions_pkey" PRIMARY KEY ("section", "version")
);

CREATE TABLE "join_tokens" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "used_by_agent" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "created_by" TEXT NOT NULL,
    CONSTRAINT "join_tokens_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "join_tokens_token_hash_key" ON "join_tokens"("token_hash");

CREATE TABLE "used_nonces" (
    "kind" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "used_nonces_pkey" PRIMARY KEY ("kind", "value")
);
CREATE INDEX "used_nonces_expires_at_idx" ON "used_nonces"("expires_at");

CREATE TABLE "signing_keys" (
    "id" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "certificate" TEXT,
    "public_jwk" JSONB NOT NULL,
    "private_key" TEXT NOT NULL,
    "encrypted" BOOLEAN NOT NULL,
    "not_before" TIMESTAMPTZ(3) NOT NULL,
    "not_after" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "signing_keys_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "signing_keys_purpose_not_before_idx" ON "signing_keys"("purpose", "not_before");

CREATE TABLE "admin_tokens" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "admin_tokens_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "admin_tokens_token_hash_key" ON "admin_tokens"("token_hash");
