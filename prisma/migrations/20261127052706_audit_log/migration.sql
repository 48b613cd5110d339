-- CreateEnum
CREATE TYPE "AuditActorKind" AS ENUM ('API_KEY', 'STAFF', 'CUSTOMER', 'PUBLISHABLE_KEY', 'SYSTEM');

-- CreateTable
CREATE TABLE "AuditEntry" (
    "id" BIGSERIAL NOT NULL,
    "shopId" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorKind" "AuditActorKind" NOT NULL,
    "actorKeyId" UUID,
    "actorStaffId" UUID,
    "actorCustomerId" UUID,
    "actorJob" TEXT,
    "operation" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "entityType" TEXT NOT NULL,
    "entityId" TEXT,
    "fields" TEXT[],
    "changes" JSONB,
    "outcome" TEXT,
    "customerId" UUID,
    "redacted" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "AuditEntry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AuditEntry_shopId_id_idx" ON "AuditEntry"("shopId", "id");

-- CreateIndex
CREATE INDEX "AuditEntry_shopId_entityType_entityId_id_idx" ON "AuditEntry"("shopId", "entityType", "entityId", "id");

-- CreateIndex
CREATE INDEX "AuditEntry_shopId_customerId_idx" ON "AuditEntry"("shopId", "customerId");

-- CreateIndex
CREATE INDEX "AuditEntry_shopId_at_idx" ON "AuditEntry"("shopId", "at");

-- AddForeignKey
ALTER TABLE "AuditEntry" ADD CONSTRAINT "AuditEntry_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The audit row trigger (docs/audit.md). It records a change only when the transaction carries an
-- audit context (set_config('crm.audit', <json>, true), set by the server for every transaction a
-- mutation or a system job opens: db/audit-context.ts); migrations, seeds and other raw maintenance
-- write nothing. Values of secrets (key hashes, signing secrets) and bookkeeping columns are never
-- copied; deletes record no values (an erasure must not copy what it removes).
-- (Prisma's schema engine ignores functions and triggers, so this is not schema drift.)
CREATE FUNCTION "crm_audit_row"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  ctx jsonb := nullif(current_setting('crm.audit', true), '')::jsonb;
  o jsonb;
  n jsonb;
  r jsonb;
  ch jsonb;
  flds text[];
  shop uuid;
BEGIN
  IF ctx IS NULL THEN RETURN NULL; END IF;
  IF TG_OP <> 'INSERT' THEN o := to_jsonb(OLD); END IF;
  IF TG_OP <> 'DELETE' THEN n := to_jsonb(NEW); END IF;
  r := COALESCE(n, o);
  shop := CASE WHEN TG_TABLE_NAME = 'Shop' THEN (r->>'id')::uuid ELSE (r->>'shopId')::uuid END;
  IF TG_OP = 'DELETE' THEN
    -- A shop being erased: its audit log goes with it.
    IF NOT EXISTS (SELECT 1 FROM "Shop" WHERE id = shop) THEN RETURN NULL; END IF;
    flds := ARRAY[]::text[];
  ELSE
    SELECT jsonb_object_agg(k, jsonb_build_array(o->k, n->k)), array_agg(k ORDER BY k) INTO ch, flds
    FROM jsonb_object_keys(n) AS k
    WHERE k <> ALL (ARRAY['id', 'shopId', 'createdAt', 'updatedAt', 'version', 'lastUsedAt', 'hash', 'secret',
                          'baseTotal', 'countedTotal', 'competitorTotal', 'memberCount', 'refreshedAt', 'lastEventId'])
      AND CASE WHEN o IS NULL THEN n->k <> 'null'::jsonb ELSE (o->k) IS DISTINCT FROM (n->k) END;
    IF ch IS NULL THEN
      IF TG_OP = 'UPDATE' THEN RETURN NULL; END IF;
      flds := ARRAY[]::text[];
    END IF;
  END IF;
  INSERT INTO "AuditEntry" ("shopId", "actorKind", "actorKeyId", "actorStaffId", "actorCustomerId", "actorJob",
    operation, action, "entityType", "entityId", fields, changes, "customerId")
  VALUES (shop, (ctx->>'kind')::"AuditActorKind", (ctx->>'key')::uuid, (ctx->>'staff')::uuid, (ctx->>'customer')::uuid,
    ctx->>'job', COALESCE(ctx->>'op', 'unknown'), TG_OP, TG_TABLE_NAME, r->>'id', flds, ch,
    CASE WHEN TG_TABLE_NAME = 'Customer' THEN (r->>'id')::uuid ELSE (r->>'customerId')::uuid END);
  RETURN NULL;
END;
$$;

CREATE TRIGGER "Shop_audit" AFTER INSERT OR UPDATE OR DELETE ON "Shop" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "ApiKey_audit" AFTER INSERT OR UPDATE OR DELETE ON "ApiKey" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "StaffUser_audit" AFTER INSERT OR UPDATE OR DELETE ON "StaffUser" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "Customer_audit" AFTER INSERT OR UPDATE OR DELETE ON "Customer" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "Tag_audit" AFTER INSERT OR UPDATE OR DELETE ON "Tag" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "CustomerTag_audit" AFTER INSERT OR UPDATE OR DELETE ON "CustomerTag" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "Consent_audit" AFTER INSERT OR UPDATE OR DELETE ON "Consent" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "Interaction_audit" AFTER INSERT OR UPDATE OR DELETE ON "Interaction" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "Order_audit" AFTER INSERT OR UPDATE OR DELETE ON "Order" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "FollowUp_audit" AFTER INSERT OR UPDATE OR DELETE ON "FollowUp" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "Segment_audit" AFTER INSERT OR UPDATE OR DELETE ON "Segment" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "PointsAccount_audit" AFTER INSERT OR UPDATE OR DELETE ON "PointsAccount" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "WebhookEndpoint_audit" AFTER INSERT OR UPDATE OR DELETE ON "WebhookEndpoint" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
CREATE TRIGGER "ExchangeRate_audit" AFTER INSERT OR UPDATE OR DELETE ON "ExchangeRate" FOR EACH ROW EXECUTE FUNCTION "crm_audit_row"();
