-- Identity stitching without a race between trackEvents and a stitch of the same visitor.
--
-- Before: a batch of events whose statement started before a stitch committed read "no identity"
-- and kept a NULL customer for good (the stitch's UPDATE of the visitor's anonymous events had run
-- before that batch committed). Now both sides meet on a transaction-level advisory lock per
-- (shop, visitor):
--   - writing a VisitorIdentity row (any path: lead capture, customer token, identifyVisitor,
--     merge) takes it EXCLUSIVE (trigger below), so it waits for batches of that visitor in flight
--     and holds new ones off until it commits;
--   - a batch reads each visitor's customer through "crm_visitor_customer", which takes it SHARED
--     first and then reads with a fresh snapshot (a VOLATILE function's statements each take their
--     own): it sees every stitch committed before it, and a stitch after it waits for its commit;
--   - the stitch then moves the visitor's anonymous events with a statement (or
--     "crm_stitch_events", a fresh snapshot inside one statement) that starts after the lock was
--     granted, so it sees every batch that read "no identity".
-- The lock is per shop and first hex digit of the visitor id (16 per shop): a batch of up to 100
-- visitors holds at most 16 locks, and a stitch holds up a sixteenth of the shop's batches for the
-- length of its transaction. Every side takes its locks in visitor-id order, which is also the
-- order of the keys (the first digit leads), so two multi-visitor writers cannot deadlock; a merge
-- moves the links before the events (the rollup rows those lock come after, as in a batch).

CREATE FUNCTION "crm_visitor_lock_key"(shop uuid, visitor uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT hashtextextended('crm.visitor:' || shop::text || ':' || left(visitor::text, 1), 0)
$$;

CREATE FUNCTION "crm_visitor_customer"(shop uuid, visitor uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared("crm_visitor_lock_key"(shop, visitor));
  RETURN (SELECT vi."customerId" FROM "VisitorIdentity" vi WHERE vi."shopId" = shop AND vi."visitorId" = visitor);
END
$$;

CREATE FUNCTION "crm_visitor_identity_lock"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock("crm_visitor_lock_key"(NEW."shopId", NEW."visitorId"));
  RETURN NEW;
END
$$;

CREATE TRIGGER "VisitorIdentity_stitch_lock" BEFORE INSERT OR UPDATE ON "VisitorIdentity"
  FOR EACH ROW EXECUTE FUNCTION "crm_visitor_identity_lock"();

CREATE FUNCTION "crm_stitch_events"(shop uuid, visitor uuid, customer uuid) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE n integer;
BEGIN
  UPDATE "BehaviourEvent" b SET "customerId" = customer
  WHERE b."shopId" = shop AND b."visitorId" = visitor AND b."customerId" IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
