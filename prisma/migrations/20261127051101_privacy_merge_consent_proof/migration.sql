-- CreateEnum
CREATE TYPE "ConsentLegalBasis" AS ENUM ('CONSENT', 'CONTRACT', 'LEGITIMATE_INTEREST', 'LEGAL_OBLIGATION');

-- AlterTable
ALTER TABLE "Consent" ADD COLUMN     "confirmationExpiresAt" TIMESTAMPTZ(3),
ADD COLUMN     "confirmationTokenHash" TEXT,
ADD COLUMN     "confirmedAt" TIMESTAMPTZ(3),
ADD COLUMN     "ip" TEXT,
ADD COLUMN     "legalBasis" "ConsentLegalBasis",
ADD COLUMN     "pendingConfirmation" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "sourceUrl" TEXT,
ADD COLUMN     "textVersion" TEXT,
ADD COLUMN     "userAgent" TEXT,
ADD COLUMN     "wording" TEXT;

-- AlterTable
ALTER TABLE "ConsentChange" ADD COLUMN     "confirmedAt" TIMESTAMPTZ(3),
ADD COLUMN     "ip" TEXT,
ADD COLUMN     "legalBasis" "ConsentLegalBasis",
ADD COLUMN     "pending" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "sourceUrl" TEXT,
ADD COLUMN     "textVersion" TEXT,
ADD COLUMN     "userAgent" TEXT,
ADD COLUMN     "wording" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Consent_confirmationTokenHash_key" ON "Consent"("confirmationTokenHash");

-- Racing merges could leave several snapshots of one duplicate: keep the first.
DELETE FROM "CustomerMerge" a USING "CustomerMerge" b
WHERE a."shopId" = b."shopId" AND a."mergedId" = b."mergedId" AND (a."at", a."id") > (b."at", b."id");

-- CreateIndex
CREATE UNIQUE INDEX "CustomerMerge_shopId_mergedId_key" ON "CustomerMerge"("shopId", "mergedId");
