import { forShop, type ScopedDb } from '../../db/tenant.ts';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';

/**
 * Retention (EVENT_RETENTION_DAYS, default 30; 0 keeps everything). A tick deletes, per shop and in
 * batches (no long transaction, no long lock):
 *   - events created before the cutoff, as a PREFIX of the shop's log (every id up to the newest
 *     expired one), always keeping the shop's newest event so a resuming subscriber can tell it
 *     missed pruned events (event.graphql.ts answers EVENTS_EXPIRED when `after` is older than the
 *     oldest retained event);
 *   - finished webhook deliveries (SUCCEEDED / FAILED) created before the cutoff (PENDING ones are
 *     kept until delivered or given up);
 *   - idempotency keys created before the cutoff (a retry with such a key runs again).
 */
const BATCH = 1000;
const DAY = 86_400_000;

export type PruneResult = { events: number; webhookDeliveries: number; idempotencyKeys: number };

async function inBatches(find: () => Promise<{ id: string | bigint }[]>, remove: (ids: never[]) => Promise<{ count: number }>) {
  let n = 0;
  for (;;) {
    const ids = (await find()).map((r) => r.id);
    if (!ids.length) return n;
    n += (await remove(ids as never[])).count;
    if (ids.length < BATCH) return n;
  }
}

export async function pruneShop(db: ScopedDb, cutoff: Date): Promise<PruneResult> {
  const newest = await db.event.findFirst({ orderBy: { id: 'desc' }, select: { id: true } });
  const lastExpired = await db.event.findFirst({
    where: { createdAt: { lt: cutoff } },
    orderBy: { createdAt: 'desc' },
    select: { id: true },
  });
  let events = 0;
  if (newest && lastExpired) {
    const upTo = lastExpired.id < newest.id ? lastExpired.id : newest.id - 1n;
    events = await inBatches(
      () => db.event.findMany({ where: { id: { lte: upTo } }, orderBy: { id: 'asc' }, take: BATCH, select: { id: true } }),
      (ids) => db.event.deleteMany({ where: { id: { in: ids } } }),
    );
  }
  const webhookDeliveries = await inBatches(
    () =>
      db.webhookDelivery.findMany({
        where: { createdAt: { lt: cutoff }, status: { in: ['SUCCEEDED', 'FAILED'] } },
        take: BATCH,
        select: { id: true },
      }),
    (ids) => db.webhookDelivery.deleteMany({ where: { id: { in: ids } } }),
  );
  const idempotencyKeys = await inBatches(
    () => db.idempotencyKey.findMany({ where: { createdAt: { lt: cutoff } }, take: BATCH, select: { id: true } }),
    (ids) => db.idempotencyKey.deleteMany({ where: { id: { in: ids } } }),
  );
  return { events, webhookDeliveries, idempotencyKeys };
}

/** Prunes every shop every `intervalMs` (0 = never) when `retentionDays` > 0; `tick()` drives it by hand. */
export function createRetentionScheduler(opts: { prisma: PrismaClient; logger: Logger; retentionDays: number; intervalMs: number }) {
  async function tick(now = new Date()): Promise<PruneResult> {
    const total: PruneResult = { events: 0, webhookDeliveries: 0, idempotencyKeys: 0 };
    if (opts.retentionDays <= 0) return total;
    const cutoff = new Date(now.getTime() - opts.retentionDays * DAY);
    const shops = await opts.prisma.shop.findMany({ select: { id: true } });
    for (const { id } of shops) {
      try {
        const r = await pruneShop(forShop(opts.prisma, id), cutoff);
        total.events += r.events;
        total.webhookDeliveries += r.webhookDeliveries;
        total.idempotencyKeys += r.idempotencyKeys;
      } catch (err) {
        opts.logger.error('retention pass failed', { shopId: id, error: String(err) });
      }
    }
    if (total.events || total.webhookDeliveries || total.idempotencyKeys) opts.logger.info('retention', { ...total });
    return total;
  }

  return {
    tick,
    ...periodic({ name: 'retention', intervalMs: opts.retentionDays > 0 ? opts.intervalMs : 0, logger: opts.logger }, () => tick()),
  };
}
