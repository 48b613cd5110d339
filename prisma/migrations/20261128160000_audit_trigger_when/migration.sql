-- The audit row trigger (crm_audit_row) is not even queued for the rows of a bulk import: its
-- transactions set crm.audit_rows = 'off' (db/audit-context.ts) beside the audit context that
-- carries "bulk", and the import writes one IMPORT entry per batch itself. Before, every such row
-- entered the PL/pgSQL function only to return at once (2.5-5.5 us a row, about 600,000 rows in a
-- 100,000-customer + 200,000-order import). The function keeps its own check. An instance that does
-- not set crm.audit_rows (an older one during a rolling deploy) is audited exactly as before.

DROP TRIGGER "Shop_audit" ON "Shop";
CREATE TRIGGER "Shop_audit" AFTER INSERT OR UPDATE OR DELETE ON "Shop" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "ApiKey_audit" ON "ApiKey";
CREATE TRIGGER "ApiKey_audit" AFTER INSERT OR UPDATE OR DELETE ON "ApiKey" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "StaffUser_audit" ON "StaffUser";
CREATE TRIGGER "StaffUser_audit" AFTER INSERT OR UPDATE OR DELETE ON "StaffUser" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "Customer_audit" ON "Customer";
CREATE TRIGGER "Customer_audit" AFTER INSERT OR UPDATE OR DELETE ON "Customer" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "Tag_audit" ON "Tag";
CREATE TRIGGER "Tag_audit" AFTER INSERT OR UPDATE OR DELETE ON "Tag" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "CustomerTag_audit" ON "CustomerTag";
CREATE TRIGGER "CustomerTag_audit" AFTER INSERT OR UPDATE OR DELETE ON "CustomerTag" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "Consent_audit" ON "Consent";
CREATE TRIGGER "Consent_audit" AFTER INSERT OR UPDATE OR DELETE ON "Consent" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "Interaction_audit" ON "Interaction";
CREATE TRIGGER "Interaction_audit" AFTER INSERT OR UPDATE OR DELETE ON "Interaction" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "Order_audit" ON "Order";
CREATE TRIGGER "Order_audit" AFTER INSERT OR UPDATE OR DELETE ON "Order" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "FollowUp_audit" ON "FollowUp";
CREATE TRIGGER "FollowUp_audit" AFTER INSERT OR UPDATE OR DELETE ON "FollowUp" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "Segment_audit" ON "Segment";
CREATE TRIGGER "Segment_audit" AFTER INSERT OR UPDATE OR DELETE ON "Segment" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "PointsAccount_audit" ON "PointsAccount";
CREATE TRIGGER "PointsAccount_audit" AFTER INSERT OR UPDATE OR DELETE ON "PointsAccount" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "WebhookEndpoint_audit" ON "WebhookEndpoint";
CREATE TRIGGER "WebhookEndpoint_audit" AFTER INSERT OR UPDATE OR DELETE ON "WebhookEndpoint" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

DROP TRIGGER "ExchangeRate_audit" ON "ExchangeRate";
CREATE TRIGGER "ExchangeRate_audit" AFTER INSERT OR UPDATE OR DELETE ON "ExchangeRate" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();
