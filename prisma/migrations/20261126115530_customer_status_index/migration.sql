-- DropIndex
DROP INDEX "Customer_shopId_createdAt_idx";

-- CreateIndex
CREATE INDEX "Customer_shopId_status_createdAt_idx" ON "Customer"("shopId", "status", "createdAt");
