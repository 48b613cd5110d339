-- The audit row trigger (crm_audit_row) is not even queued for the rows of a bulk import: its
-- transactions set crm.audit_rows = 'off' (db/audit-context.ts) beside the audit context that
-- carries "bulk", and the import writes one IMPORT entry per batch itself. Before, every such row
-- entered the PL/pgSQL function only to return at once (2.5-5.5 us a row, about 600,000 rows in a
-- 100,000-customer + 200,000-order import). The function keeps its own check. An instance that does
-- not set crm.audit_rows (an older one during a rolling deploy) is audited exactly as before.
-- CREATE OR REPLACE TRIGGER (PostgreSQL 14+) takes a SHARE ROW EXCLUSIVE lock: reads of these
-- tables go on while it runs (DROP TRIGGER would block them), and there is no moment without it.

CREATE OR REPLACE TRIGGER "Shop_audit" AFTER INSERT OR UPDATE OR DELETE ON "Shop" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "ApiKey_audit" AFTER INSERT OR UPDATE OR DELETE ON "ApiKey" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "StaffUser_audit" AFTER INSERT OR UPDATE OR DELETE ON "StaffUser" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "Customer_audit" AFTER INSERT OR UPDATE OR DELETE ON "Customer" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "Tag_audit" AFTER INSERT OR UPDATE OR DELETE ON "Tag" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "CustomerTag_audit" AFTER INSERT OR UPDATE OR DELETE ON "CustomerTag" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "Consent_audit" AFTER INSERT OR UPDATE OR DELETE ON "Consent" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "Interaction_audit" AFTER INSERT OR UPDATE OR DELETE ON "Interaction" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "Order_audit" AFTER INSERT OR UPDATE OR DELETE ON "Order" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "FollowUp_audit" AFTER INSERT OR UPDATE OR DELETE ON "FollowUp" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "Segment_audit" AFTER INSERT OR UPDATE OR DELETE ON "Segment" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "PointsAccount_audit" AFTER INSERT OR UPDATE OR DELETE ON "PointsAccount" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "WebhookEndpoint_audit" AFTER INSERT OR UPDATE OR DELETE ON "WebhookEndpoint" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();

CREATE OR REPLACE TRIGGER "ExchangeRate_audit" AFTER INSERT OR UPDATE OR DELETE ON "ExchangeRate" FOR EACH ROW
  WHEN (current_setting('crm.audit_rows', true) IS DISTINCT FROM 'off') EXECUTE FUNCTION "crm_audit_row"();
