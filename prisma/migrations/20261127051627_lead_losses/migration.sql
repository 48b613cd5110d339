-- CreateEnum
CREATE TYPE "LeadOutcome" AS ENUM ('LOST', 'DISQUALIFIED');

-- CreateEnum
CREATE TYPE "LeadLossReason" AS ENUM ('FORGOT', 'CANNOT_FIND_CONTACT', 'TOO_FAR', 'DISLIKES_SHOWROOM', 'DISLIKES_STAFF', 'PRICE', 'STOCK', 'DELIVERY_DATE', 'BOUGHT_ELSEWHERE', 'NOT_IN_TARGET', 'INVALID_CONTACT', 'OTHER');

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN     "lostAt" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "LeadLoss" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "outcome" "LeadOutcome" NOT NULL,
    "reason" "LeadLossReason" NOT NULL,
    "note" TEXT,
    "stageReached" "LifecycleStage" NOT NULL,
    "ownerId" UUID,
    "sourceChannel" "SourceChannel",
    "actorStaffId" UUID,
    "lostAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "reopenedAt" TIMESTAMPTZ(3),
    "reopenReason" TEXT,

    CONSTRAINT "LeadLoss_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "LeadLoss_customerId_lostAt_idx" ON "LeadLoss"("customerId", "lostAt");

-- CreateIndex
CREATE INDEX "LeadLoss_shopId_lostAt_idx" ON "LeadLoss"("shopId", "lostAt");

-- AddForeignKey
ALTER TABLE "LeadLoss" ADD CONSTRAINT "LeadLoss_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LeadLoss" ADD CONSTRAINT "LeadLoss_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LeadLoss" ADD CONSTRAINT "LeadLoss_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "StaffUser"("id") ON DELETE SET NULL ON UPDATE CASCADE;
