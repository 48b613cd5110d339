-- CreateEnum
CREATE TYPE "BehaviourEventType" AS ENUM ('PAGE_VIEWED', 'PRODUCT_VIEWED', 'SEARCHED', 'ADDED_TO_CART', 'CHECKOUT_STARTED');

-- CreateTable
CREATE TABLE "BehaviourEvent" (
    "id" BIGSERIAL NOT NULL,
    "shopId" UUID NOT NULL,
    "visitorId" UUID NOT NULL,
    "sessionId" UUID,
    "customerId" UUID,
    "type" "BehaviourEventType" NOT NULL,
    "occurredAt" TIMESTAMPTZ(3) NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "url" TEXT,
    "referrer" TEXT,
    "sku" TEXT,
    "searchQuery" TEXT,
    "durationMs" INTEGER,
    "utmSource" TEXT,
    "utmMedium" TEXT,
    "utmCampaign" TEXT,
    "properties" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "BehaviourEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "BehaviourEvent_shopId_visitorId_idx" ON "BehaviourEvent"("shopId", "visitorId");

-- CreateIndex
CREATE INDEX "BehaviourEvent_shopId_customerId_occurredAt_idx" ON "BehaviourEvent"("shopId", "customerId", "occurredAt");

-- CreateIndex
CREATE INDEX "BehaviourEvent_shopId_type_sku_idx" ON "BehaviourEvent"("shopId", "type", "sku");

-- CreateIndex
CREATE INDEX "BehaviourEvent_occurredAt_idx" ON "BehaviourEvent" USING BRIN ("occurredAt");

-- AddForeignKey
ALTER TABLE "BehaviourEvent" ADD CONSTRAINT "BehaviourEvent_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BehaviourEvent" ADD CONSTRAINT "BehaviourEvent_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;
