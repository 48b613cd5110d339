import { NotFoundError } from '../errors.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';

/** Tables whose rows survive a shop's erasure: the tombstone itself and where SHOP_REDACTED goes. */
const KEPT_ON_SHOP_ERASURE = new Set(['Shop', 'WebhookEndpoint', '_prisma_migrations']);

/**
 * Erases a shop (Shopify's shop/redact): every row of every table with a "shopId" column goes
 * (enumerated from information_schema, so a new tenant table is covered without a change here),
 * except the webhook endpoints; the shop row stays as a nameless tombstone and the outbox gets one
 * SHOP_REDACTED event (shop id only), which the dispatcher delivers to those endpoints. All API keys
 * and staff go with the rest, so nobody can use the shop afterwards. One transaction: all or nothing.
 * Reached through `ShopBound.erase()` (db/shop-bound.ts): the one write whose scope is the shop itself.
 * Callers check the owner's authority first.
 */
export async function eraseShop(prisma: PrismaClient, shopId: string): Promise<{ shopId: string; redactedAt: Date }> {
  const redactedAt = new Date();
  await prisma.$transaction(
    async (tx) => {
      // Lock the shop row: concurrent writers of this shop wait (and then find their rows gone).
      const locked = await tx.shop.updateMany({
        where: { id: shopId },
        data: { name: '[redacted]', slug: `redacted-${shopId}`, settings: { redactedAt: redactedAt.toISOString() } },
      });
      if (!locked.count) throw new NotFoundError('Shop');
      const tables = await tx.$queryRaw<{ table_name: string }[]>`
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND c.column_name = 'shopId' AND t.table_type = 'BASE TABLE'
        ORDER BY c.table_name`;
      // The audit log last: the row trigger records the deletes of the other tables in it.
      const ordered = [...tables].sort((a, b) => Number(a.table_name === 'AuditEntry') - Number(b.table_name === 'AuditEntry'));
      for (const { table_name } of ordered) {
        if (KEPT_ON_SHOP_ERASURE.has(table_name)) continue;
        // Table names come from the catalogue, not from input; the shop id is a bound parameter.
        await tx.$executeRawUnsafe(`DELETE FROM "${table_name.replaceAll('"', '""')}" WHERE "shopId" = $1::uuid`, shopId);
      }
      await tx.event.create({ data: { shopId, type: 'SHOP_REDACTED', payload: { shopId, redactedAt: redactedAt.toISOString() } } });
    },
    { maxWait: 10_000, timeout: 120_000 },
  );
  return { shopId, redactedAt };
}
