-- The agenda's order in its indexes, tie-break included (as 20261128080000 did for the customer
-- list).
--
-- `agenda` orders the shop's (or one assignee's) PLANNED follow-ups by (dueAt, id). The indexes
-- held (shopId, status, dueAt) and (shopId, assigneeId, status, dueAt), without the id, so each page
-- read and sorted every follow-up sharing a dueAt with its rows. The loyalty recompute gives the
-- retention follow-ups it raises in one run one dueAt (the run's time, when no later day is due),
-- thousands of them after an import or in a big shop. With the id in the index the page is read
-- straight off it. Same number of indexes; the due-notification scan reads the same prefix.

-- CreateIndex
CREATE INDEX "FollowUp_shopId_status_dueAt_id_idx" ON "FollowUp"("shopId", "status", "dueAt", "id");

-- CreateIndex
CREATE INDEX "FollowUp_shopId_assigneeId_status_dueAt_id_idx" ON "FollowUp"("shopId", "assigneeId", "status", "dueAt", "id");

-- DropIndex
DROP INDEX "FollowUp_shopId_status_dueAt_idx";

-- DropIndex
DROP INDEX "FollowUp_shopId_assigneeId_status_dueAt_idx";
