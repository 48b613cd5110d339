-- CreateEnum
CREATE TYPE "FollowUpStatus" AS ENUM ('PLANNED', 'DONE', 'SKIPPED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "FollowUpKind" AS ENUM ('SALES', 'BIRTHDAY', 'HOLIDAY', 'SERVICE_REMINDER');

-- CreateEnum
CREATE TYPE "LeadAssignmentAction" AS ENUM ('CLAIMED', 'ASSIGNED', 'AUTO_ASSIGNED', 'RETURNED');

-- CreateTable
CREATE TABLE "FollowUp" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "assigneeId" UUID,
    "kind" "FollowUpKind" NOT NULL DEFAULT 'SALES',
    "status" "FollowUpStatus" NOT NULL DEFAULT 'PLANNED',
    "dueAt" TIMESTAMPTZ(3) NOT NULL,
    "channel" "ContactChannel",
    "goal" TEXT,
    "outcome" TEXT,
    "notes" TEXT,
    "nextStep" TEXT,
    "interestValue" DECIMAL(14,2),
    "previousId" UUID,
    "retentionKey" TEXT,
    "createdById" UUID,
    "completedAt" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FollowUp_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FollowUpDoubt" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "followUpId" UUID NOT NULL,
    "text" TEXT NOT NULL,
    "resolvedAt" TIMESTAMPTZ(3),
    "resolution" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FollowUpDoubt_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LeadAssignment" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "staffId" UUID,
    "action" "LeadAssignmentAction" NOT NULL,
    "actorStaffId" UUID,
    "reason" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LeadAssignment_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "FollowUp_previousId_key" ON "FollowUp"("previousId");

-- CreateIndex
CREATE INDEX "FollowUp_shopId_assigneeId_status_dueAt_idx" ON "FollowUp"("shopId", "assigneeId", "status", "dueAt");

-- CreateIndex
CREATE INDEX "FollowUp_shopId_status_dueAt_idx" ON "FollowUp"("shopId", "status", "dueAt");

-- CreateIndex
CREATE INDEX "FollowUp_customerId_dueAt_idx" ON "FollowUp"("customerId", "dueAt");

-- CreateIndex
CREATE UNIQUE INDEX "FollowUp_shopId_retentionKey_key" ON "FollowUp"("shopId", "retentionKey");

-- CreateIndex
CREATE INDEX "FollowUpDoubt_followUpId_idx" ON "FollowUpDoubt"("followUpId");

-- CreateIndex
CREATE INDEX "FollowUpDoubt_customerId_resolvedAt_idx" ON "FollowUpDoubt"("customerId", "resolvedAt");

-- CreateIndex
CREATE INDEX "FollowUpDoubt_shopId_idx" ON "FollowUpDoubt"("shopId");

-- CreateIndex
CREATE INDEX "LeadAssignment_customerId_at_idx" ON "LeadAssignment"("customerId", "at");

-- CreateIndex
CREATE INDEX "LeadAssignment_shopId_action_at_idx" ON "LeadAssignment"("shopId", "action", "at");

-- AddForeignKey
ALTER TABLE "FollowUp" ADD CONSTRAINT "FollowUp_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FollowUp" ADD CONSTRAINT "FollowUp_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FollowUp" ADD CONSTRAINT "FollowUp_assigneeId_fkey" FOREIGN KEY ("assigneeId") REFERENCES "StaffUser"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FollowUp" ADD CONSTRAINT "FollowUp_previousId_fkey" FOREIGN KEY ("previousId") REFERENCES "FollowUp"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FollowUpDoubt" ADD CONSTRAINT "FollowUpDoubt_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FollowUpDoubt" ADD CONSTRAINT "FollowUpDoubt_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FollowUpDoubt" ADD CONSTRAINT "FollowUpDoubt_followUpId_fkey" FOREIGN KEY ("followUpId") REFERENCES "FollowUp"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LeadAssignment" ADD CONSTRAINT "LeadAssignment_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LeadAssignment" ADD CONSTRAINT "LeadAssignment_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LeadAssignment" ADD CONSTRAINT "LeadAssignment_staffId_fkey" FOREIGN KEY ("staffId") REFERENCES "StaffUser"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LeadAssignment" ADD CONSTRAINT "LeadAssignment_actorStaffId_fkey" FOREIGN KEY ("actorStaffId") REFERENCES "StaffUser"("id") ON DELETE SET NULL ON UPDATE CASCADE;
