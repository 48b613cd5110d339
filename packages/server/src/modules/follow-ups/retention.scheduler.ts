import { forShop } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import { SYSTEM } from './follow-up.policy.ts';
import { generateRetentionFollowUps, type RetentionKind } from './follow-up.retention.ts';
import { getFollowUpSettings } from './follow-up.settings.ts';

/**
 * The daily retention pass, run by the server itself: for every shop, the kinds in
 * followUpSettings.cadence.retentionDailyKinds (birthdays, the holiday calendar, repeating service
 * reminders, news of offers to the offer segments) as the shop's system. It ticks every
 * RETENTION_FOLLOW_UPS_INTERVAL_MS (default hourly) so that each shop's and customer's local day
 * is picked up soon after it begins; a pass is idempotent per customer, occasion and local date,
 * so the ticks of one day (and of several instances) create each follow-up once.
 */
export function createRetentionFollowUpScheduler(opts: { prisma: PrismaClient; logger: Logger; intervalMs: number }) {
  async function tick(now = new Date()): Promise<{ created: number; skipped: number }> {
    let created = 0;
    let skipped = 0;
    const shops = await opts.prisma.shop.findMany({ select: { id: true }, orderBy: { id: 'asc' } });
    for (const { id } of shops) {
      const db = forShop(opts.prisma, id);
      try {
        const s = (await getFollowUpSettings(db)).cadence;
        const kinds = s.retentionDailyKinds.filter((k) => k !== 'OFFER' || s.offerSegmentIds.length > 0) as RetentionKind[];
        if (kinds.includes('HOLIDAY') && kinds.length === 1 && (await db.holiday.count()) === 0) continue;
        if (!kinds.length) continue;
        const r = await generateRetentionFollowUps(db, tenantSql(opts.prisma, id), SYSTEM, { kinds }, now);
        created += r.created.length;
        skipped += r.skipped.length;
      } catch (err) {
        opts.logger.error('retention follow-up pass failed', { shopId: id, error: String(err) });
      }
    }
    return { created, skipped };
  }

  return { tick, ...periodic({ name: 'retention follow-ups', intervalMs: opts.intervalMs, logger: opts.logger }, () => tick()) };
}
