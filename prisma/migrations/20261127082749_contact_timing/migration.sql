-- AlterEnum
ALTER TYPE "FollowUpKind" ADD VALUE 'OFFER';

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN     "timeZone" TEXT;

-- CreateTable
CREATE TABLE "Holiday" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "date" DATE NOT NULL,
    "recurringYearly" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Holiday_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Holiday_shopId_date_idx" ON "Holiday"("shopId", "date");

-- CreateIndex
CREATE UNIQUE INDEX "Holiday_shopId_id_key" ON "Holiday"("shopId", "id");

-- AddForeignKey
ALTER TABLE "Holiday" ADD CONSTRAINT "Holiday_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;
