-- The FOLLOW_UP_DUE tick reads only what is due and not yet notified.
--
-- Every minute, per shop, the tick asks for PLANNED follow-ups with dueAt <= now and
-- dueNotifiedAt IS NULL (follow-up-due.ts). The only index was (shopId, status, dueAt, id): the
-- tick walked every overdue PLANNED follow-up, notified long ago or not, and filtered out the
-- notified ones. That backlog only grows (retention follow-ups nobody has acted on yet), so each
-- tick read more. With dueNotifiedAt in the index the scan starts and ends on the rows the tick
-- marks; it sorts those (at most the batch of 500 is kept) instead.

-- CreateIndex
CREATE INDEX "FollowUp_shopId_status_dueNotifiedAt_dueAt_id_idx" ON "FollowUp"("shopId", "status", "dueNotifiedAt", "dueAt", "id");
