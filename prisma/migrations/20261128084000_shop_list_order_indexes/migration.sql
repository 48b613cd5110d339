-- The shop-wide orders, interactions and webhookDeliveries lists: their order in their indexes,
-- tie-break included (as 20261128080000 did for customers).
--
-- Each orders by (<time> DESC, id DESC) over the shop and had an index on (shopId, <time>) only,
-- so a page read and sorted every row sharing a time with its rows. Ties are common: the webhook
-- dispatcher writes up to 500 deliveries per endpoint in one statement (one createdAt), and imports
-- accept date-only placedAt / occurredAt (one day's rows share midnight). Same number of indexes;
-- range filters on the time (placedAt bounds, the deliveries' retention prune) read the same prefix.

-- CreateIndex
CREATE INDEX "Order_shopId_placedAt_id_idx" ON "Order"("shopId", "placedAt", "id");

-- CreateIndex
CREATE INDEX "Interaction_shopId_occurredAt_id_idx" ON "Interaction"("shopId", "occurredAt", "id");

-- CreateIndex
CREATE INDEX "WebhookDelivery_shopId_createdAt_id_idx" ON "WebhookDelivery"("shopId", "createdAt", "id");

-- DropIndex
DROP INDEX "Order_shopId_placedAt_idx";

-- DropIndex
DROP INDEX "Interaction_shopId_occurredAt_idx";

-- DropIndex
DROP INDEX "WebhookDelivery_shopId_createdAt_idx";
