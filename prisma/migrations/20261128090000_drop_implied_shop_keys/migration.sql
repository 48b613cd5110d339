-- Rows that hang off a customer (tags, consents and their history, stage history, metrics) or an
-- order (its items), and orders themselves (their customer is required), reach their shop through
-- the composite key (shopId, customerId) -> Customer(shopId, id) or (shopId, orderId) ->
-- Order(shopId, id), and Customer has its own key to Shop: a shopId that is not a shop's cannot be
-- written, and erasing a shop still cascades through its customers. The direct keys to Shop
-- checked the same thing again for every row written (an import of 100,000 customers and 200,000
-- orders: about 1.2 million extra checks, each a row lock on the one Shop row). The single-column
-- shopId indexes stay (shop-wide reads and erasure use them).
ALTER TABLE "CustomerTag" DROP CONSTRAINT "CustomerTag_shopId_fkey";
ALTER TABLE "Consent" DROP CONSTRAINT "Consent_shopId_fkey";
ALTER TABLE "ConsentChange" DROP CONSTRAINT "ConsentChange_shopId_fkey";
ALTER TABLE "StageTransition" DROP CONSTRAINT "StageTransition_shopId_fkey";
ALTER TABLE "Order" DROP CONSTRAINT "Order_shopId_fkey";
ALTER TABLE "OrderItem" DROP CONSTRAINT "OrderItem_shopId_fkey";
ALTER TABLE "CustomerMetrics" DROP CONSTRAINT "CustomerMetrics_shopId_fkey";
