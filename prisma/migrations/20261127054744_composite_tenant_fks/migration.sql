-- DropForeignKey
ALTER TABLE "Consent" DROP CONSTRAINT "Consent_customerId_fkey";

-- DropForeignKey
ALTER TABLE "ConsentChange" DROP CONSTRAINT "ConsentChange_customerId_fkey";

-- DropForeignKey
ALTER TABLE "CustomerMetrics" DROP CONSTRAINT "CustomerMetrics_customerId_fkey";

-- DropForeignKey
ALTER TABLE "CustomerTag" DROP CONSTRAINT "CustomerTag_customerId_fkey";

-- DropForeignKey
ALTER TABLE "CustomerTag" DROP CONSTRAINT "CustomerTag_tagId_fkey";

-- DropForeignKey
ALTER TABLE "FollowUp" DROP CONSTRAINT "FollowUp_customerId_fkey";

-- DropForeignKey
ALTER TABLE "FollowUpDoubt" DROP CONSTRAINT "FollowUpDoubt_customerId_fkey";

-- DropForeignKey
ALTER TABLE "FollowUpDoubt" DROP CONSTRAINT "FollowUpDoubt_followUpId_fkey";

-- DropForeignKey
ALTER TABLE "Interaction" DROP CONSTRAINT "Interaction_customerId_fkey";

-- DropForeignKey
ALTER TABLE "LeadAssignment" DROP CONSTRAINT "LeadAssignment_customerId_fkey";

-- DropForeignKey
ALTER TABLE "Order" DROP CONSTRAINT "Order_customerId_fkey";

-- DropForeignKey
ALTER TABLE "OrderItem" DROP CONSTRAINT "OrderItem_orderId_fkey";

-- DropForeignKey
ALTER TABLE "PointsAccount" DROP CONSTRAINT "PointsAccount_customerId_fkey";

-- DropForeignKey
ALTER TABLE "PointsMovement" DROP CONSTRAINT "PointsMovement_customerId_fkey";

-- DropForeignKey
ALTER TABLE "SegmentMember" DROP CONSTRAINT "SegmentMember_customerId_fkey";

-- DropForeignKey
ALTER TABLE "SegmentMember" DROP CONSTRAINT "SegmentMember_segmentId_fkey";

-- DropForeignKey
ALTER TABLE "StageTransition" DROP CONSTRAINT "StageTransition_customerId_fkey";

-- DropForeignKey
ALTER TABLE "TierChange" DROP CONSTRAINT "TierChange_customerId_fkey";

-- DropForeignKey
ALTER TABLE "WebhookDelivery" DROP CONSTRAINT "WebhookDelivery_endpointId_fkey";

-- CreateIndex
CREATE UNIQUE INDEX "Customer_shopId_id_key" ON "Customer"("shopId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "FollowUp_shopId_id_key" ON "FollowUp"("shopId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Order_shopId_id_key" ON "Order"("shopId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "PointsAccount_shopId_customerId_key" ON "PointsAccount"("shopId", "customerId");

-- CreateIndex
CREATE UNIQUE INDEX "Segment_shopId_id_key" ON "Segment"("shopId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "Tag_shopId_id_key" ON "Tag"("shopId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "WebhookEndpoint_shopId_id_key" ON "WebhookEndpoint"("shopId", "id");

-- AddForeignKey
ALTER TABLE "CustomerTag" ADD CONSTRAINT "CustomerTag_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CustomerTag" ADD CONSTRAINT "CustomerTag_shopId_tagId_fkey" FOREIGN KEY ("shopId", "tagId") REFERENCES "Tag"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Consent" ADD CONSTRAINT "Consent_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ConsentChange" ADD CONSTRAINT "ConsentChange_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StageTransition" ADD CONSTRAINT "StageTransition_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Interaction" ADD CONSTRAINT "Interaction_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Order" ADD CONSTRAINT "Order_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "OrderItem" ADD CONSTRAINT "OrderItem_shopId_orderId_fkey" FOREIGN KEY ("shopId", "orderId") REFERENCES "Order"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "WebhookDelivery" ADD CONSTRAINT "WebhookDelivery_shopId_endpointId_fkey" FOREIGN KEY ("shopId", "endpointId") REFERENCES "WebhookEndpoint"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FollowUp" ADD CONSTRAINT "FollowUp_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FollowUpDoubt" ADD CONSTRAINT "FollowUpDoubt_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FollowUpDoubt" ADD CONSTRAINT "FollowUpDoubt_shopId_followUpId_fkey" FOREIGN KEY ("shopId", "followUpId") REFERENCES "FollowUp"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LeadAssignment" ADD CONSTRAINT "LeadAssignment_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SegmentMember" ADD CONSTRAINT "SegmentMember_shopId_segmentId_fkey" FOREIGN KEY ("shopId", "segmentId") REFERENCES "Segment"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SegmentMember" ADD CONSTRAINT "SegmentMember_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CustomerMetrics" ADD CONSTRAINT "CustomerMetrics_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PointsAccount" ADD CONSTRAINT "PointsAccount_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PointsMovement" ADD CONSTRAINT "PointsMovement_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TierChange" ADD CONSTRAINT "TierChange_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;
