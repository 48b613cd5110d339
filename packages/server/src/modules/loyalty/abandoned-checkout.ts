import { encodeGlobalID } from '@pothos/plugin-relay';
import { type ShopBound, shopBound } from '../../db/shop-bound.ts';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import { emitEvents } from '../events/event.service.ts';
import { counted } from '../orders/order.counting.ts';
import { getLoyaltySettings } from './loyalty.settings.ts';

/**
 * CHECKOUT_ABANDONED: a high-intent signal from storefront behaviour (docs/behaviour-in-crm.md).
 * A CHECKOUT_STARTED behaviour event stitched to an ACTIVE customer, without a counted order of
 * theirs placed after it (10 minutes of clock tolerance: the event's time is the browser's) by
 * the time it is decided, emits one CHECKOUT_ABANDONED event (outbox: `events` subscription,
 * webhooks). Repeated starts of one attempt (another CHECKOUT_STARTED of the customer in the
 * `abandonedCheckoutHours` before) do not fire again.
 *
 * Once per checkout: every CHECKOUT_STARTED is decided exactly once, `abandonedCheckoutHours`
 * (loyalty settings `churn.abandonedCheckoutHours`, default 4) after it (after the earlier of its
 * occurredAt and receivedAt, so a future client clock cannot hold the pass back longer). The pass
 * walks the shop's CHECKOUT_STARTED events in id order from LoyaltyState.checkoutCursor and stops
 * at the first one not yet due; the cursor moves past the decided ones and the events commit in the
 * same transaction, under a per-shop advisory lock (several instances and restarts are safe). A
 * checkout still anonymous when decided never fires.
 *
 * Payload: customerId (global id), behaviourEventId, sessionId, checkoutStartedAt, hours, skus
 * (ADDED_TO_CART SKUs of the session, at most 20) and consents (the customer's granted consent
 * channels, e.g. ["EMAIL"]). No personal data. Consumers decide from `consents` (and the
 * customer's contact tolerance) whether a reminder may be sent at all: the event is a signal, not
 * a permission to contact.
 */
const BATCH = 500;
const LOCK = 'abandoned-checkout';

type Candidate = {
  id: bigint;
  shopId: string;
  customerId: string | null;
  sessionId: string | null;
  occurredAt: Date;
  due: boolean;
  abandoned: boolean;
  skus: string[];
  consents: string[];
};

export async function emitAbandonedCheckouts(shop: ShopBound, now = new Date()): Promise<number> {
  const hours = (await getLoyaltySettings(shop.db)).churn.abandonedCheckoutHours;
  let total = 0;
  for (;;) {
    const r = await shop.transaction(async (t) => {
      await t.sql(
        (s) =>
          Prisma.sql`SELECT ${s} AS "shopId", 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtextextended(${LOCK} || ${s}::text, 0))) l`,
      );
      await t.write(
        (s) => Prisma.sql`
        ins AS (INSERT INTO "LoyaltyState" ("shopId") VALUES (${s}) ON CONFLICT ("shopId") DO NOTHING RETURNING "shopId"),
        written AS (SELECT "shopId" FROM ins)`,
      );
      const [state] = await t.sql<{ checkoutCursor: bigint }>(
        (s) => Prisma.sql`SELECT "shopId", "checkoutCursor" FROM "LoyaltyState" WHERE "shopId" = ${s}`,
      );
      const cursor = state?.checkoutCursor ?? 0n;
      const window = Prisma.sql`make_interval(hours => ${hours}::int)`;
      const rows = await t.sql<Candidate>(
        (s) => Prisma.sql`SELECT e.id, e."shopId", e."customerId", e."sessionId", e."occurredAt",
          (LEAST(e."occurredAt", e."receivedAt") + ${window} <= ${now}::timestamptz) AS due,
          (e."customerId" IS NOT NULL AND c.status = 'ACTIVE'
            AND NOT EXISTS (SELECT 1 FROM "Order" o WHERE o."shopId" = ${s} AND o."customerId" = e."customerId" AND ${counted('o')}
              AND o."placedAt" >= e."occurredAt" - interval '10 minutes')
            AND NOT EXISTS (SELECT 1 FROM "BehaviourEvent" p WHERE p."shopId" = ${s} AND p."customerId" = e."customerId"
              AND p.type = 'CHECKOUT_STARTED'::"BehaviourEventType" AND p."occurredAt" >= e."occurredAt" - ${window}
              AND (p."occurredAt", p.id) < (e."occurredAt", e.id))) AS abandoned,
          ARRAY(SELECT DISTINCT a.sku FROM "BehaviourEvent" a WHERE a."shopId" = ${s} AND a."customerId" = e."customerId"
            AND a."sessionId" = e."sessionId" AND a.type = 'ADDED_TO_CART'::"BehaviourEventType" AND a.sku IS NOT NULL ORDER BY 1 LIMIT 20) AS skus,
          ARRAY(SELECT cs.channel::text FROM "Consent" cs WHERE cs."shopId" = ${s} AND cs."customerId" = e."customerId" AND cs.granted ORDER BY 1) AS consents
        FROM "BehaviourEvent" e LEFT JOIN "Customer" c ON c.id = e."customerId" AND c."shopId" = ${s}
        WHERE e."shopId" = ${s} AND e.type = 'CHECKOUT_STARTED'::"BehaviourEventType" AND e.id > ${cursor}::bigint
        ORDER BY e.id LIMIT ${BATCH}`,
      );
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const notDue = rows.findIndex((x) => !x.due);
      const decided = notDue < 0 ? rows : rows.slice(0, notDue);
      if (!decided.length) return { emitted: 0, more: false };
      const upTo = (decided.at(-1) as Candidate).id;
      await t.write(
        (s) => Prisma.sql`
        upd AS (UPDATE "LoyaltyState" SET "checkoutCursor" = GREATEST("checkoutCursor", ${upTo}::bigint) WHERE "shopId" = ${s} RETURNING "shopId"),
        written AS (SELECT "shopId" FROM upd)`,
      );
      const fire = decided.filter((x) => x.abandoned && x.customerId);
      // Last statements of the transaction (event-service rule).
      await emitEvents(
        t.db,
        fire.map((x) => ({
          type: 'CHECKOUT_ABANDONED' as const,
          customerId: x.customerId,
          payload: {
            customerId: encodeGlobalID('Customer', x.customerId as string),
            behaviourEventId: String(x.id),
            sessionId: x.sessionId,
            checkoutStartedAt: new Date(x.occurredAt).toISOString(),
            hours,
            skus: x.skus,
            consents: x.consents,
          },
        })),
      );
      return { emitted: fire.length, more: notDue < 0 && rows.length === BATCH };
    });
    total += r.emitted;
    if (!r.more) return total;
  }
}

/** Runs `emitAbandonedCheckouts` for every shop every `intervalMs` (0 = never; `tick()` drives it by hand). */
export function createAbandonedCheckoutScheduler(opts: { prisma: PrismaClient; logger: Logger; intervalMs: number }) {
  async function tick(now = new Date()): Promise<{ emitted: number }> {
    let emitted = 0;
    const shops = await opts.prisma.shop.findMany({ select: { id: true } });
    for (const { id } of shops) {
      try {
        emitted += await emitAbandonedCheckouts(shopBound(opts.prisma, id), now);
      } catch (err) {
        opts.logger.error('abandoned checkout pass failed', { shopId: id, error: String(err) });
      }
    }
    return { emitted };
  }
  return { tick, ...periodic({ name: 'abandoned checkout', intervalMs: opts.intervalMs, logger: opts.logger }, () => tick()) };
}
