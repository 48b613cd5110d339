-- CreateTable
CREATE TABLE "Event" (
    "id" BIGSERIAL NOT NULL,
    "shopId" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "customerId" UUID,
    "payload" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Event_shopId_id_idx" ON "Event"("shopId", "id");

-- AddForeignKey
ALTER TABLE "Event" ADD CONSTRAINT "Event_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Event ids in commit order, per shop. The BEFORE INSERT trigger takes a transaction-scoped
-- advisory lock keyed by the shop, then allocates the id: a second transaction emitting for the
-- same shop waits until the first commits (or rolls back) before it gets its id, so a reader of
-- `id > cursor` never sees a smaller id become visible later (no skipped events). Then it rings
-- the doorbell: NOTIFY crm_events with the shop id, delivered at commit to every listener on
-- the database (and dropped with a rollback). Prisma's schema engine ignores functions and
-- triggers, so this is not schema drift.
CREATE FUNCTION "crm_event_before_insert"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(NEW."shopId"::text, 0));
  NEW."id" := nextval(pg_get_serial_sequence('"Event"', 'id'));
  PERFORM pg_notify('crm_events', NEW."shopId"::text);
  RETURN NEW;
END;
$$;

CREATE TRIGGER "Event_before_insert" BEFORE INSERT ON "Event"
FOR EACH ROW EXECUTE FUNCTION "crm_event_before_insert"();
