-- CreateEnum
CREATE TYPE "SurveyKind" AS ENUM ('CSAT', 'NPS');

-- AlterTable
ALTER TABLE "CustomerMetrics" ADD COLUMN     "csatAt" TIMESTAMPTZ(3),
ADD COLUMN     "csatLatest" INTEGER,
ADD COLUMN     "csatPrevious" INTEGER,
ADD COLUMN     "npsAt" TIMESTAMPTZ(3),
ADD COLUMN     "npsLatest" INTEGER,
ADD COLUMN     "npsPrevious" INTEGER,
ADD COLUMN     "verySatisfied" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Interaction" ADD COLUMN     "score" INTEGER,
ADD COLUMN     "surveyKind" "SurveyKind";

-- A score only with its survey kind, within the kind's scale (CSAT 1-5, NPS 0-10).
ALTER TABLE "Interaction" ADD CONSTRAINT "Interaction_survey_score_check" CHECK (
  ("surveyKind" IS NULL AND score IS NULL)
  OR ("surveyKind" = 'CSAT' AND score BETWEEN 1 AND 5)
  OR ("surveyKind" = 'NPS' AND score BETWEEN 0 AND 10));
