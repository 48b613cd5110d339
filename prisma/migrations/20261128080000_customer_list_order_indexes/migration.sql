-- The customer list's order in its indexes, tie-break included.
--
-- `customers` orders by (createdAt, id) or (updatedAt, id), ascending or descending, over the shop's
-- customers of one status (ACTIVE by default). The indexes held (shopId, status, createdAt) and
-- (shopId, updatedAt), without the id: PostgreSQL read the rows in createdAt order and then
-- sorted each group of equal createdAt by id (an Incremental Sort), reading the whole group before
-- it could return the first page. Set-based writes give thousands of rows one timestamp (an import
-- batch's customers share their transaction's createdAt; the end-of-import ladder and loyalty
-- passes give every customer they move one updatedAt), so after a 100,000-customer import a page of
-- 50 read a 2,000-row batch (createdAt) or the whole shop (updatedAt) before answering.
--
-- With the id in the index and status before updatedAt, both orders are read straight off the
-- index (forward or backward) and the scan stops after the page. Same number of indexes; nothing
-- else reads Customer by (shopId, updatedAt) alone. Plain CREATE INDEX (a migration runs in one
-- transaction): writes to Customer wait while each index builds (about a second per 100,000
-- customers).

-- CreateIndex
CREATE INDEX "Customer_shopId_status_createdAt_id_idx" ON "Customer"("shopId", "status", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Customer_shopId_status_updatedAt_id_idx" ON "Customer"("shopId", "status", "updatedAt", "id");

-- DropIndex
DROP INDEX "Customer_shopId_status_createdAt_idx";

-- DropIndex
DROP INDEX "Customer_shopId_updatedAt_idx";
