-- CreateIndex
CREATE INDEX "Order_shopId_customerId_placedAt_status_total_idx" ON "Order"("shopId", "customerId", "placedAt", "status", "total");
