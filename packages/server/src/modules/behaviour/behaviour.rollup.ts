import { EXPORT_PAGE, type ExportSection } from '../customers/customer.export.ts';

/**
 * "BehaviourDay", the daily rollup of stitched behaviour events (per customer, UTC day, type and
 * SKU: count, first and last time). The application never writes it: statement triggers on
 * "BehaviourEvent" keep it exact on every insert, stitch, merge, erasure and retention delete
 * (migration behaviour_day_rollup), so erasing the events erases it too. Segment rules read it
 * (segments/segment.fields.ts eventJoins).
 *
 * Export: derived from the person's events, it is personal data as well and exported as it is.
 */
type DayKey = { shopId: string; type: string; day: string; sku: string; customerId: string };

export const BEHAVIOUR_DAY_EXPORT_SECTION: ExportSection = {
  key: 'behaviourDays',
  tables: ['BehaviourDay'],
  description: 'Daily counts of the storefront behaviour attributed to the person (per day, event type and SKU), derived from the events.',
  pages: async (db, scope, after) => {
    const key = after ? (JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as DayKey) : null;
    const rows = await db.behaviourDay.findMany({
      where: { customerId: { in: scope.customerIds } },
      orderBy: [{ day: 'asc' }, { type: 'asc' }, { sku: 'asc' }, { customerId: 'asc' }],
      ...(key ? { cursor: { shopId_type_day_sku_customerId: { ...key, type: key.type as never, day: new Date(key.day) } }, skip: 1 } : {}),
      take: EXPORT_PAGE,
    });
    const last = rows.at(-1);
    return {
      items: rows.map(({ shopId: _s, day, ...r }) => ({ ...r, day: day.toISOString().slice(0, 10) })),
      next:
        rows.length === EXPORT_PAGE && last
          ? Buffer.from(
              JSON.stringify({
                shopId: last.shopId,
                type: last.type,
                day: last.day.toISOString(),
                sku: last.sku,
                customerId: last.customerId,
              }),
            ).toString('base64url')
          : null,
    };
  },
};
