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

-- A score only with its survey kind, on a SURVEY_RESPONSE, within the kind's scale (CSAT 1-5, NPS
-- 0-10). The service checks it with typed errors; this trigger backs it up in the database. (A
-- trigger rather than a CHECK constraint: Prisma's schema engine ignores functions and triggers.)
CREATE FUNCTION "crm_survey_score_check"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT (
    (NEW."surveyKind" IS NULL AND NEW."score" IS NULL)
    OR (NEW."type" = 'SURVEY_RESPONSE' AND NEW."surveyKind" = 'CSAT' AND NEW."score" BETWEEN 1 AND 5)
    OR (NEW."type" = 'SURVEY_RESPONSE' AND NEW."surveyKind" = 'NPS' AND NEW."score" BETWEEN 0 AND 10)
  ) THEN
    RAISE EXCEPTION 'survey score out of its scale' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "Interaction_survey_score_check" BEFORE INSERT OR UPDATE OF "type", "surveyKind", "score" ON "Interaction"
FOR EACH ROW EXECUTE FUNCTION "crm_survey_score_check"();
