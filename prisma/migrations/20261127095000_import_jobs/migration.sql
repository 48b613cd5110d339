-- CreateEnum
CREATE TYPE "ImportKind" AS ENUM ('CUSTOMERS', 'ORDERS');

-- CreateEnum
CREATE TYPE "ImportMapping" AS ENUM ('SHOPIFY', 'GENERIC');

-- CreateEnum
CREATE TYPE "ImportFormat" AS ENUM ('CSV', 'JSONL');

-- CreateEnum
CREATE TYPE "ImportStatus" AS ENUM ('UPLOADED', 'RUNNING', 'COMPLETED', 'FAILED');

-- CreateTable
CREATE TABLE "ImportJob" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "shopId" UUID NOT NULL,
    "kind" "ImportKind" NOT NULL,
    "format" "ImportFormat" NOT NULL,
    "mapping" "ImportMapping",
    "status" "ImportStatus" NOT NULL DEFAULT 'UPLOADED',
    "dryRun" BOOLEAN NOT NULL DEFAULT false,
    "rowEvents" BOOLEAN NOT NULL DEFAULT false,
    "apiKeyId" UUID,
    "staffId" UUID,
    "bytes" INTEGER NOT NULL DEFAULT 0,
    "bytesRead" INTEGER NOT NULL DEFAULT 0,
    "rowsRead" INTEGER NOT NULL DEFAULT 0,
    "created" INTEGER NOT NULL DEFAULT 0,
    "updated" INTEGER NOT NULL DEFAULT 0,
    "unchanged" INTEGER NOT NULL DEFAULT 0,
    "rejected" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ImportJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ImportChunk" (
    "shopId" UUID NOT NULL,
    "jobId" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "ImportChunk_pkey" PRIMARY KEY ("jobId","seq")
);

-- CreateTable
CREATE TABLE "ImportRejection" (
    "id" BIGSERIAL NOT NULL,
    "shopId" UUID NOT NULL,
    "jobId" UUID NOT NULL,
    "line" INTEGER NOT NULL,
    "field" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "value" TEXT,

    CONSTRAINT "ImportRejection_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ImportJob_shopId_createdAt_idx" ON "ImportJob"("shopId", "createdAt");

-- CreateIndex
CREATE INDEX "ImportJob_status_updatedAt_idx" ON "ImportJob"("status", "updatedAt");

-- CreateIndex
CREATE UNIQUE INDEX "ImportJob_shopId_id_key" ON "ImportJob"("shopId", "id");

-- CreateIndex
CREATE INDEX "ImportChunk_shopId_idx" ON "ImportChunk"("shopId");

-- CreateIndex
CREATE INDEX "ImportRejection_jobId_line_idx" ON "ImportRejection"("jobId", "line");

-- CreateIndex
CREATE INDEX "ImportRejection_shopId_idx" ON "ImportRejection"("shopId");

-- AddForeignKey
ALTER TABLE "ImportJob" ADD CONSTRAINT "ImportJob_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportChunk" ADD CONSTRAINT "ImportChunk_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportChunk" ADD CONSTRAINT "ImportChunk_shopId_jobId_fkey" FOREIGN KEY ("shopId", "jobId") REFERENCES "ImportJob"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportRejection" ADD CONSTRAINT "ImportRejection_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportRejection" ADD CONSTRAINT "ImportRejection_shopId_jobId_fkey" FOREIGN KEY ("shopId", "jobId") REFERENCES "ImportJob"("shopId", "id") ON DELETE CASCADE ON UPDATE CASCADE;
