import { forShop, type ScopedDb } from '../../db/tenant.ts';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import { emitEvents, gidOf } from './follow-up.policy.ts';

/**
 * FOLLOW_UP_DUE: emitted once when a PLANNED follow-up's dueAt passes.
 *
 * A tick marks the shop's due, not yet notified follow-ups (`dueNotifiedAt`) with a conditional
 * UPDATE … RETURNING (batches of 500) and writes their events in the same transaction: the mark and the events
 * commit together or not at all (restart-safe: an interrupted tick leaves nothing marked). With
 * several instances ticking at once the UPDATE's row locks and its `dueNotifiedAt IS NULL`
 * condition (re-checked after a concurrent commit) let exactly one of them mark, and emit for, each
 * follow-up. Changing a follow-up's dueAt clears the mark (updateFollowUp): it fires again when
 * the new date passes. Completed, skipped or cancelled follow-ups never fire.
 */
const BATCH = 500;

export async function notifyDueFollowUps(db: ScopedDb, now = new Date()): Promise<number> {
  let total = 0;
  for (;;) {
    const due = { status: 'PLANNED' as const, dueAt: { lte: now }, dueNotifiedAt: null };
    const candidates = await db.followUp.findMany({
      where: due,
      orderBy: [{ dueAt: 'asc' }, { id: 'asc' }],
      take: BATCH,
      select: { id: true },
    });
    if (!candidates.length) return total;
    const marked = await db.$transaction(async (t) => {
      // The conditions sit on the updated rows themselves (not in a sub-select), so PostgreSQL
      // re-checks them after waiting for a concurrent tick's lock: a row it marked is skipped.
      const rows = await t.followUp.updateManyAndReturn({
        where: { id: { in: candidates.map((c) => c.id) }, ...due },
        data: { dueNotifiedAt: now },
        select: { id: true, customerId: true, assigneeId: true, dueAt: true, kind: true },
      });
      rows.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.id.localeCompare(b.id));
      await emitEvents(
        t,
        rows.map((f) => ({
          type: 'FOLLOW_UP_DUE' as const,
          customerId: f.customerId,
          payload: {
            followUpId: gidOf('FollowUp', f.id),
            customerId: gidOf('Customer', f.customerId),
            assigneeId: f.assigneeId ? gidOf('StaffUser', f.assigneeId) : null,
            dueAt: f.dueAt.toISOString(),
            kind: f.kind,
          },
        })),
      );
      return rows.length;
    });
    total += marked;
    if (candidates.length < BATCH) return total;
  }
}

/** Runs `notifyDueFollowUps` for every shop every `intervalMs` (0 = never; `tick()` drives it by hand). */
export function createFollowUpDueScheduler(opts: { prisma: PrismaClient; logger: Logger; intervalMs: number }) {
  async function tick(now = new Date()): Promise<{ notified: number }> {
    let notified = 0;
    const shops = await opts.prisma.shop.findMany({ select: { id: true } });
    for (const { id } of shops) {
      try {
        notified += await notifyDueFollowUps(forShop(opts.prisma, id), now);
      } catch (err) {
        opts.logger.error('follow-up due pass failed', { shopId: id, error: String(err) });
      }
    }
    return { notified };
  }

  return { tick, ...periodic({ name: 'follow-up due', intervalMs: opts.intervalMs, logger: opts.logger }, () => tick()) };
}
