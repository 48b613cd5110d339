-- AlterEnum
ALTER TYPE "ImportKind" ADD VALUE 'INTERACTIONS';

-- AlterTable
ALTER TABLE "Interaction" ADD COLUMN     "externalId" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Interaction_shopId_externalId_key" ON "Interaction"("shopId", "externalId");

-- The audit row trigger (migration 20261127052706_audit_log), now skipping rows a bulk import
-- writes: the import records each batch as one IMPORT entry (docs/audit.md, docs/import.md).
CREATE OR REPLACE FUNCTION "crm_audit_row"() RETURNS trigger
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
  -- A bulk import (its context carries "bulk": the ImportJob id) writes one summary entry per
  -- batch itself (action IMPORT, modules/imports/import.sql.ts) instead of one entry per row.
  IF ctx ? 'bulk' THEN RETURN NULL; END IF;
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
