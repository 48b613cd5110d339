-- DropForeignKey
ALTER TABLE "LeadLoss" DROP CONSTRAINT "LeadLoss_customerId_fkey";

-- AddForeignKey
ALTER TABLE "LeadLoss" ADD CONSTRAINT "LeadLoss_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;
