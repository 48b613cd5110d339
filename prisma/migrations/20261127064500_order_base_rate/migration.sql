-- An order in the shop's base currency needs no rate: when none is given (raw inserts, imports,
-- the demo seed), the counting trigger takes 1, so such orders count however they were written.
CREATE OR REPLACE FUNCTION "crm_order_counting"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  live boolean;
  amount numeric;
BEGIN
  IF NEW."exchangeRate" IS NULL AND NEW.currency = (SELECT s."baseCurrency" FROM "Shop" s WHERE s.id = NEW."shopId") THEN
    NEW."exchangeRate" := 1;
  END IF;
  NEW."baseTotal" := round(NEW.total * NEW."exchangeRate", 2);
  live := NEW.status::text IN ('PLACED', 'PAID', 'FULFILLED') AND NOT NEW.excluded
    AND NEW."exchangeRate" IS NOT NULL AND (NEW.refunded < NEW.total OR NEW.total = 0);
  amount := CASE WHEN live THEN round((NEW.total - NEW.refunded) * NEW."exchangeRate", 2) END;
  NEW."countedTotal" := CASE WHEN NEW.channel::text <> 'OTHER_MERCHANT' THEN amount END;
  NEW."competitorTotal" := CASE WHEN NEW.channel::text = 'OTHER_MERCHANT' THEN amount END;
  RETURN NEW;
END;
$$;
