import { shopBound } from '../../db/shop-bound.ts';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import { recomputeLoyalty, refreshLoyalty } from './loyalty.service.ts';
import { expirePoints } from './points.service.ts';

/**
 * Keeps loyalty data current on a timer: each pass folds every shop's new orders and interactions
 * into metrics and points (refreshLoyalty), and once a day per shop (for shops the refresh has
 * seen) runs the full recompute — churn risk grows with time alone, and RFM quintiles move — and
 * expires due points. Safe with several instances: recomputes of a shop are serialised by its
 * LoyaltyState lock and every points movement is idempotent.
 */
export function createLoyaltyScheduler(opts: { prisma: PrismaClient; logger: Logger; intervalMs: number; fullEveryMs?: number }) {
  const fullEveryMs = opts.fullEveryMs ?? 24 * 3_600_000;

  /** `at`: a fixed moment (tests); live passes fold at the current time (see refreshLoyalty). */
  async function tick(at?: Date): Promise<{ refreshed: number; recomputed: number }> {
    const now = at ?? new Date();
    let refreshed = 0;
    let recomputed = 0;
    const shops = await opts.prisma.shop.findMany({ select: { id: true } });
    for (const { id } of shops) {
      try {
        const shop = shopBound(opts.prisma, id);
        refreshed += await refreshLoyalty(shop, at);
        const state = await shop.db.loyaltyState.findFirst({ select: { fullComputedAt: true } });
        if (state && (!state.fullComputedAt || now.getTime() - state.fullComputedAt.getTime() >= fullEveryMs)) {
          await recomputeLoyalty(shop, at);
          await expirePoints(shop.db, now);
          recomputed++;
        }
      } catch (err) {
        opts.logger.error('loyalty pass failed', { shopId: id, error: String(err) });
      }
    }
    return { refreshed, recomputed };
  }

  return { tick, ...periodic({ name: 'loyalty', intervalMs: opts.intervalMs, logger: opts.logger }, () => tick()) };
}
