-- CreateTable
CREATE TABLE "BehaviourDay" (
    "shopId" UUID NOT NULL,
    "type" "BehaviourEventType" NOT NULL,
    "day" DATE NOT NULL,
    "sku" TEXT NOT NULL DEFAULT '',
    "customerId" UUID NOT NULL,
    "events" INTEGER NOT NULL,
    "firstAt" TIMESTAMPTZ(3) NOT NULL,
    "lastAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "BehaviourDay_pkey" PRIMARY KEY ("shopId","type","day","sku","customerId")
);

-- CreateIndex
CREATE INDEX "BehaviourDay_shopId_customerId_day_idx" ON "BehaviourDay"("shopId", "customerId", "day");

-- AddForeignKey
ALTER TABLE "BehaviourDay" ADD CONSTRAINT "BehaviourDay_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BehaviourDay" ADD CONSTRAINT "BehaviourDay_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The rollup is kept exact by statement-level triggers on "BehaviourEvent" (one set-based statement
-- per batch, whatever path writes the events: trackEvents, stitching, merge, erasure, retention).
-- Only stitched events (customerId set) are rolled up. Days are UTC days.

-- Added events (stitched or merged to a customer; inserts do the same inline below): counts add up, the first / last times widen (commutative: concurrent batches of
-- the same key serialise on the row; keys are taken in one order, so two batches cannot deadlock).
CREATE FUNCTION "crm_behaviour_day_add"(added jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "BehaviourDay" AS d ("shopId", "type", "day", "sku", "customerId", "events", "firstAt", "lastAt")
  SELECT g."shopId", g."type", g."day", g."sku", g."customerId", g."events", g."firstAt", g."lastAt"
  FROM jsonb_to_recordset(added) AS g("shopId" uuid, "type" "BehaviourEventType", "day" date, "sku" text, "customerId" uuid,
    "events" int, "firstAt" timestamptz, "lastAt" timestamptz)
  ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT ("shopId", "type", "day", "sku", "customerId") DO UPDATE
    SET "events" = d."events" + EXCLUDED."events", "firstAt" = LEAST(d."firstAt", EXCLUDED."firstAt"),
        "lastAt" = GREATEST(d."lastAt", EXCLUDED."lastAt");
END $$;

-- Removed events (deleted, or moved to another customer): counts go down, rows at zero go, and the
-- first / last times of the rest are read again from the remaining events of that customer and day
-- (index "shopId", "customerId", "occurredAt"). The rows are locked first (in key order), and the
-- times are read by a later statement, which sees every batch that wrote those rows before it:
-- a batch still writing adds its own events afterwards (LEAST / GREATEST above).
CREATE FUNCTION "crm_behaviour_day_remove"(removed jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM "BehaviourDay" d
    JOIN jsonb_to_recordset(removed) AS g("shopId" uuid, "type" "BehaviourEventType", "day" date, "sku" text, "customerId" uuid, "events" int)
      ON d."shopId" = g."shopId" AND d."type" = g."type" AND d."day" = g."day" AND d."sku" = g."sku" AND d."customerId" = g."customerId"
    ORDER BY d."shopId", d."type", d."day", d."sku", d."customerId"
    FOR UPDATE OF d;
  UPDATE "BehaviourDay" d SET "events" = d."events" - g."events"
    FROM jsonb_to_recordset(removed) AS g("shopId" uuid, "type" "BehaviourEventType", "day" date, "sku" text, "customerId" uuid, "events" int)
    WHERE d."shopId" = g."shopId" AND d."type" = g."type" AND d."day" = g."day" AND d."sku" = g."sku" AND d."customerId" = g."customerId";
  DELETE FROM "BehaviourDay" d
    USING jsonb_to_recordset(removed) AS g("shopId" uuid, "type" "BehaviourEventType", "day" date, "sku" text, "customerId" uuid)
    WHERE d."shopId" = g."shopId" AND d."type" = g."type" AND d."day" = g."day" AND d."sku" = g."sku" AND d."customerId" = g."customerId"
      AND d."events" <= 0;
  UPDATE "BehaviourDay" d SET "firstAt" = s."firstAt", "lastAt" = s."lastAt"
    FROM (
      SELECT g."shopId", g."type", g."day", g."sku", g."customerId", min(e."occurredAt") AS "firstAt", max(e."occurredAt") AS "lastAt"
      FROM jsonb_to_recordset(removed) AS g("shopId" uuid, "type" "BehaviourEventType", "day" date, "sku" text, "customerId" uuid)
      JOIN "BehaviourEvent" e ON e."shopId" = g."shopId" AND e."customerId" = g."customerId"
        AND e."occurredAt" >= (g."day"::timestamp AT TIME ZONE 'UTC') AND e."occurredAt" < ((g."day" + 1)::timestamp AT TIME ZONE 'UTC')
        AND e."type" = g."type" AND COALESCE(e."sku", '') = g."sku"
      GROUP BY 1, 2, 3, 4, 5
    ) s
    WHERE d."shopId" = s."shopId" AND d."type" = s."type" AND d."day" = s."day" AND d."sku" = s."sku" AND d."customerId" = s."customerId"
      AND (d."firstAt" <> s."firstAt" OR d."lastAt" <> s."lastAt");
END $$;

CREATE FUNCTION "crm_behaviour_day_sync"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  added jsonb;
  removed jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    -- The hot path (every trackEvents batch): one statement, straight from the new rows.
    INSERT INTO "BehaviourDay" AS d ("shopId", "type", "day", "sku", "customerId", "events", "firstAt", "lastAt")
    SELECT "shopId", "type", ("occurredAt" AT TIME ZONE 'UTC')::date, COALESCE("sku", ''), "customerId",
      count(*), min("occurredAt"), max("occurredAt")
    FROM new_rows WHERE "customerId" IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT ("shopId", "type", "day", "sku", "customerId") DO UPDATE
      SET "events" = d."events" + EXCLUDED."events", "firstAt" = LEAST(d."firstAt", EXCLUDED."firstAt"),
          "lastAt" = GREATEST(d."lastAt", EXCLUDED."lastAt");
    RETURN NULL;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT jsonb_agg(x) INTO removed FROM (
      SELECT "shopId", "type", ("occurredAt" AT TIME ZONE 'UTC')::date AS "day", COALESCE("sku", '') AS "sku", "customerId", count(*) AS "events"
      FROM old_rows WHERE "customerId" IS NOT NULL GROUP BY 1, 2, 3, 4, 5) x;
  ELSE
    -- Stitching and merges change customerId; only rows whose rollup key changed count.
    SELECT jsonb_agg(x) INTO added FROM (
      SELECT n."shopId", n."type", (n."occurredAt" AT TIME ZONE 'UTC')::date AS "day", COALESCE(n."sku", '') AS "sku", n."customerId",
        count(*) AS "events", min(n."occurredAt") AS "firstAt", max(n."occurredAt") AS "lastAt"
      FROM new_rows n JOIN old_rows o ON o."id" = n."id"
      WHERE n."customerId" IS NOT NULL
        AND (n."shopId", n."customerId", n."type", n."occurredAt", COALESCE(n."sku", ''))
          IS DISTINCT FROM (o."shopId", o."customerId", o."type", o."occurredAt", COALESCE(o."sku", ''))
      GROUP BY 1, 2, 3, 4, 5) x;
    SELECT jsonb_agg(x) INTO removed FROM (
      SELECT o."shopId", o."type", (o."occurredAt" AT TIME ZONE 'UTC')::date AS "day", COALESCE(o."sku", '') AS "sku", o."customerId", count(*) AS "events"
      FROM old_rows o JOIN new_rows n ON n."id" = o."id"
      WHERE o."customerId" IS NOT NULL
        AND (n."shopId", n."customerId", n."type", n."occurredAt", COALESCE(n."sku", ''))
          IS DISTINCT FROM (o."shopId", o."customerId", o."type", o."occurredAt", COALESCE(o."sku", ''))
      GROUP BY 1, 2, 3, 4, 5) x;
  END IF;
  IF added IS NOT NULL THEN PERFORM "crm_behaviour_day_add"(added); END IF;
  IF removed IS NOT NULL THEN PERFORM "crm_behaviour_day_remove"(removed); END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "BehaviourEvent_day_insert" AFTER INSERT ON "BehaviourEvent"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crm_behaviour_day_sync"();
CREATE TRIGGER "BehaviourEvent_day_update" AFTER UPDATE ON "BehaviourEvent"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "crm_behaviour_day_sync"();
CREATE TRIGGER "BehaviourEvent_day_delete" AFTER DELETE ON "BehaviourEvent"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "crm_behaviour_day_sync"();

CREATE FUNCTION "crm_behaviour_day_truncate"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "BehaviourDay";
  RETURN NULL;
END $$;
CREATE TRIGGER "BehaviourEvent_day_truncate" AFTER TRUNCATE ON "BehaviourEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION "crm_behaviour_day_truncate"();

-- The events recorded so far.
INSERT INTO "BehaviourDay" ("shopId", "type", "day", "sku", "customerId", "events", "firstAt", "lastAt")
SELECT "shopId", "type", ("occurredAt" AT TIME ZONE 'UTC')::date, COALESCE("sku", ''), "customerId", count(*), min("occurredAt"), max("occurredAt")
FROM "BehaviourEvent" WHERE "customerId" IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;
