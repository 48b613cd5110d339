-- CreateEnum
CREATE TYPE "ChurnRisk" AS ENUM ('LOW', 'MEDIUM', 'HIGH');

-- CreateEnum
CREATE TYPE "PointsMovementKind" AS ENUM ('EARN_ORDER', 'EARN_ACTION', 'REDEEM', 'EXPIRE', 'ADJUST');

-- CreateTable
CREATE TABLE "CustomerMetrics" (
    "shopId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "recencyDays" INTEGER,
    "frequency" INTEGER NOT NULL DEFAULT 0,
    "monetary" DECIMAL(14,2) NOT NULL DEFAULT 0,
    "recencyScore" INTEGER NOT NULL DEFAULT 0,
    "frequencyScore" INTEGER NOT NULL DEFAULT 0,
    "monetaryScore" INTEGER NOT NULL DEFAULT 0,
    "rfm" TEXT,
    "averageOrderValue" DECIMAL(14,2) NOT NULL DEFAULT 0,
    "lifetimeValue" DECIMAL(14,2) NOT NULL DEFAULT 0,
    "predictedLifetimeValue" DECIMAL(14,2) NOT NULL DEFAULT 0,
    "addOnRatio" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "typicalGapDays" DOUBLE PRECISION,
    "addOnOrders" INTEGER NOT NULL DEFAULT 0,
    "qaParticipations" INTEGER NOT NULL DEFAULT 0,
    "positiveWordOfMouth" INTEGER NOT NULL DEFAULT 0,
    "eventParticipations" INTEGER NOT NULL DEFAULT 0,
    "referralsBought" INTEGER NOT NULL DEFAULT 0,
    "suggestions" INTEGER NOT NULL DEFAULT 0,
    "surveysCompleted" INTEGER NOT NULL DEFAULT 0,
    "loyaltyScore" INTEGER NOT NULL DEFAULT 0,
    "churnRisk" "ChurnRisk" NOT NULL DEFAULT 'LOW',
    "churnReasons" TEXT[],
    "computedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CustomerMetrics_pkey" PRIMARY KEY ("customerId")
);

-- CreateTable
CREATE TABLE "LoyaltyState" (
    "shopId" UUID NOT NULL,
    "lastEventId" BIGINT NOT NULL DEFAULT 0,
    "breakpoints" JSONB NOT NULL DEFAULT '{}',
    "fullComputedAt" TIMESTAMPTZ(3),
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LoyaltyState_pkey" PRIMARY KEY ("shopId")
);

-- CreateTable
CREATE TABLE "PointsAccount" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "balance" INTEGER NOT NULL DEFAULT 0,
    "lifetimeEarned" INTEGER NOT NULL DEFAULT 0,
    "tier" TEXT,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PointsAccount_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PointsMovement" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "kind" "PointsMovementKind" NOT NULL,
    "points" INTEGER NOT NULL,
    "balanceAfter" INTEGER NOT NULL,
    "reason" TEXT,
    "orderId" UUID,
    "interactionId" UUID,
    "key" TEXT NOT NULL,
    "expiresAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PointsMovement_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TierChange" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "fromTier" TEXT,
    "toTier" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TierChange_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "CustomerMetrics_shopId_loyaltyScore_idx" ON "CustomerMetrics"("shopId", "loyaltyScore");

-- CreateIndex
CREATE INDEX "CustomerMetrics_shopId_churnRisk_idx" ON "CustomerMetrics"("shopId", "churnRisk");

-- CreateIndex
CREATE UNIQUE INDEX "CustomerMetrics_shopId_customerId_key" ON "CustomerMetrics"("shopId", "customerId");

-- CreateIndex
CREATE UNIQUE INDEX "PointsAccount_customerId_key" ON "PointsAccount"("customerId");

-- CreateIndex
CREATE INDEX "PointsAccount_shopId_idx" ON "PointsAccount"("shopId");

-- CreateIndex
CREATE INDEX "PointsMovement_customerId_createdAt_idx" ON "PointsMovement"("customerId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "PointsMovement_shopId_key_key" ON "PointsMovement"("shopId", "key");

-- CreateIndex
CREATE INDEX "TierChange_customerId_at_idx" ON "TierChange"("customerId", "at");

-- CreateIndex
CREATE INDEX "TierChange_shopId_idx" ON "TierChange"("shopId");

-- AddForeignKey
ALTER TABLE "CustomerMetrics" ADD CONSTRAINT "CustomerMetrics_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CustomerMetrics" ADD CONSTRAINT "CustomerMetrics_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LoyaltyState" ADD CONSTRAINT "LoyaltyState_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PointsAccount" ADD CONSTRAINT "PointsAccount_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PointsAccount" ADD CONSTRAINT "PointsAccount_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PointsMovement" ADD CONSTRAINT "PointsMovement_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PointsMovement" ADD CONSTRAINT "PointsMovement_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TierChange" ADD CONSTRAINT "TierChange_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TierChange" ADD CONSTRAINT "TierChange_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A points balance is never negative. The redeem path checks it in its conditional update; this
-- trigger backs it up in the database. (A trigger rather than a CHECK constraint: Prisma's schema
-- engine ignores functions and triggers, so this is not schema drift.)
CREATE FUNCTION "crm_points_balance_check"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."balance" < 0 THEN
    RAISE EXCEPTION 'points balance would be negative' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "PointsAccount_balance_check" BEFORE INSERT OR UPDATE ON "PointsAccount"
FOR EACH ROW EXECUTE FUNCTION "crm_points_balance_check"();
