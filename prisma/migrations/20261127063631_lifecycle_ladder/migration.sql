-- CreateEnum
CREATE TYPE "PartnerKind" AS ENUM ('AGENT', 'DISTRIBUTOR', 'SHAREHOLDER', 'OTHER');

-- AlterEnum
-- STRATEGIC (refers customers who buy) sits between ADVOCATE and PARTNER on the ladder. Existing
-- PARTNER customers are not rewritten here (a new enum value cannot be used in the transaction that
-- adds it): the lifecycle pass (modules/lifecycle) moves a PARTNER with no partner kind recorded and
-- enough referred customers who bought to STRATEGIC, recorded as an AUTOMATIC transition.
ALTER TYPE "LifecycleStage" ADD VALUE 'STRATEGIC' BEFORE 'PARTNER';

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN     "partnerKind" "PartnerKind",
ADD COLUMN     "stageFactsAtManual" TEXT;
