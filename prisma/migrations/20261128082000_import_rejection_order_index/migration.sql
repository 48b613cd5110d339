-- The rejected-rows report's order in its index, tie-break included.
--
-- The report (importJob.rejections, GET /imports/:id/rejections) pages a job's rejections by
-- (line, id), 2,000 at a time. The index held (jobId, line): a line rejected for several fields
-- sorted its rows by id, and the page's keyset (an OR that Prisma sends as a filter) made every page
-- read the report from its first line again: about N^2 / 4,000 rows for N rejections (a wrong
-- column mapping rejects every line of a 100,000-row file). rejectionsOf now also bounds
-- `line >= <the last line>`, and this index gives the order: each page starts at its place.

-- CreateIndex
CREATE INDEX "ImportRejection_jobId_line_id_idx" ON "ImportRejection"("jobId", "line", "id");

-- DropIndex
DROP INDEX "ImportRejection_jobId_line_idx";
