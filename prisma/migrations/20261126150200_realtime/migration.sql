-- AlterTable
ALTER TABLE "FollowUp" ADD COLUMN     "dueNotifiedAt" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "Event_shopId_createdAt_idx" ON "Event"("shopId", "createdAt");
