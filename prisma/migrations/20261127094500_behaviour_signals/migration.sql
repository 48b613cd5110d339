-- AlterTable
ALTER TABLE "CustomerMetrics" ADD COLUMN     "visitsLast30Days" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "visitsPrevious90Days" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "LoyaltyState" ADD COLUMN     "checkoutCursor" BIGINT NOT NULL DEFAULT 0;
