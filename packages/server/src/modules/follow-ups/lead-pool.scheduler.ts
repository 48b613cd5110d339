import { forShop } from '../../db/tenant.ts';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import { SYSTEM } from './follow-up.policy.ts';
import { autoAssignLeads, returnStaleLeads } from './lead-pool.service.ts';

/**
 * Runs the lead-pool rules on a timer, as the shop's system: leads without follow-up activity for
 * `returnAfterHours` go back to the pool (recorded as RETURNED), then pool leads are distributed by
 * the shop's auto-assign rule (ROUND_ROBIN / BY_SOURCE). The same work the `returnStaleLeads` and
 * `autoAssignLeads` mutations do on demand. Safe with several instances: both are conditional
 * updates, so a lead is moved once.
 */
export function createLeadPoolScheduler(opts: { prisma: PrismaClient; logger: Logger; intervalMs: number }) {
  /** One pass over every shop; returns how many leads were returned and assigned. */
  async function tick(): Promise<{ returned: number; assigned: number }> {
    let returned = 0;
    let assigned = 0;
    const shops = await opts.prisma.shop.findMany({ select: { id: true } });
    for (const { id } of shops) {
      const db = forShop(opts.prisma, id);
      try {
        returned += (await returnStaleLeads(db, SYSTEM)).assignments.length;
        assigned += (await autoAssignLeads(db, SYSTEM)).assignments.length;
      } catch (err) {
        opts.logger.error('lead pool pass failed', { shopId: id, error: String(err) });
      }
    }
    return { returned, assigned };
  }

  return { tick, ...periodic({ name: 'lead pool', intervalMs: opts.intervalMs, logger: opts.logger }, () => tick()) };
}
