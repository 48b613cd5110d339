-- CreateTable
CREATE TABLE "VisitorIdentity" (
    "shopId" UUID NOT NULL,
    "visitorId" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "identifiedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "via" TEXT NOT NULL,

    CONSTRAINT "VisitorIdentity_pkey" PRIMARY KEY ("shopId","visitorId")
);

-- CreateIndex
CREATE INDEX "VisitorIdentity_shopId_customerId_idx" ON "VisitorIdentity"("shopId", "customerId");

-- AddForeignKey
ALTER TABLE "VisitorIdentity" ADD CONSTRAINT "VisitorIdentity_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VisitorIdentity" ADD CONSTRAINT "VisitorIdentity_shopId_customerId_fkey" FOREIGN KEY ("shopId", "customerId") REFERENCES "Customer"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;
