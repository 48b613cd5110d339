-- DropIndex
DROP INDEX "Order_shopId_customerId_placedAt_status_total_idx";

-- AlterTable
ALTER TABLE "Order" ADD COLUMN     "baseTotal" DECIMAL(14,2),
ADD COLUMN     "competitorTotal" DECIMAL(14,2),
ADD COLUMN     "countedTotal" DECIMAL(14,2),
ADD COLUMN     "exchangeRate" DECIMAL(20,10),
ADD COLUMN     "excluded" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "excludedReason" TEXT,
ADD COLUMN     "refunded" DECIMAL(14,2) NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "baseCurrency" TEXT NOT NULL DEFAULT 'EUR';

-- CreateTable
CREATE TABLE "ExchangeRate" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "currency" TEXT NOT NULL,
    "rate" DECIMAL(20,10) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExchangeRate_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ExchangeRate_shopId_currency_key" ON "ExchangeRate"("shopId", "currency");

-- CreateIndex
CREATE INDEX "Order_shopId_customerId_placedAt_countedTotal_competitorTot_idx" ON "Order"("shopId", "customerId", "placedAt", "countedTotal", "competitorTotal");

-- AddForeignKey
ALTER TABLE "ExchangeRate" ADD CONSTRAINT "ExchangeRate_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The ONE rule for which orders count and how much (docs/money.md). Every metric (loyalty, points,
-- stage automation, KPIs, segments) reads the columns it derives, never status/channel/total:
--   baseTotal       = total × exchangeRate (null while no rate is known)
--   countedTotal    = (total − refunded) × exchangeRate for an order that counts as the shop's sale:
--                     status PLACED/PAID/FULFILLED, not excluded, not fully refunded, a known rate,
--                     and not a competitor purchase (channel OTHER_MERCHANT); else null
--   competitorTotal = the same amount for a competitor purchase (share-of-wallet data); else null
-- A trigger rather than application code, so that no write path (service, raw SQL, a data fix,
-- this migration's backfill) can store an order whose derived amounts disagree with the rule.
-- (Prisma's schema engine ignores functions and triggers, so this is not schema drift.)
CREATE FUNCTION "crm_order_counting"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  live boolean;
  amount numeric;
BEGIN
  NEW."baseTotal" := round(NEW.total * NEW."exchangeRate", 2);
  live := NEW.status::text IN ('PLACED', 'PAID', 'FULFILLED') AND NOT NEW.excluded
    AND NEW."exchangeRate" IS NOT NULL AND (NEW.refunded < NEW.total OR NEW.total = 0);
  amount := CASE WHEN live THEN round((NEW.total - NEW.refunded) * NEW."exchangeRate", 2) END;
  NEW."countedTotal" := CASE WHEN NEW.channel::text <> 'OTHER_MERCHANT' THEN amount END;
  NEW."competitorTotal" := CASE WHEN NEW.channel::text = 'OTHER_MERCHANT' THEN amount END;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "Order_counting" BEFORE INSERT OR UPDATE ON "Order"
FOR EACH ROW EXECUTE FUNCTION "crm_order_counting"();

-- Existing shops: the base currency is the one most of their orders use (EUR without orders).
UPDATE "Shop" s SET "baseCurrency" = m.currency
FROM (
  SELECT DISTINCT ON ("shopId") "shopId", currency
  FROM "Order" GROUP BY "shopId", currency ORDER BY "shopId", count(*) DESC, currency
) m
WHERE m."shopId" = s.id;

-- Existing orders in the base currency get rate 1; others wait for a rate (setExchangeRate converts
-- them) and do not count until then. The update also fills the derived columns through the trigger.
UPDATE "Order" o SET "exchangeRate" = CASE WHEN o.currency = s."baseCurrency" THEN 1 END
FROM "Shop" s WHERE s.id = o."shopId";
