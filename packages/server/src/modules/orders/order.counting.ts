import { Prisma } from '../../generated/prisma/client.ts';

/**
 * THE definition of which orders count and for how much: every metric (loyalty RFM / lifetime
 * value / frequency / add-on ratio / evidence, points, stage automation, shop KPIs, segment
 * fields, retention follow-ups) uses these fragments and nothing else.
 *
 * The rule itself runs in the database: the BEFORE INSERT/UPDATE trigger `crm_order_counting`
 * (migration 20261127050915_money) derives three columns of every Order row:
 * - `baseTotal`: total × exchangeRate, in the shop's base currency;
 * - `countedTotal`: (total − refunded) × exchangeRate when the order is the shop's sale: status
 *   PLACED / PAID / FULFILLED, not `excluded` (e.g. placed under a borrowed identity), not fully
 *   refunded, with a known exchange rate, and channel not OTHER_MERCHANT; null otherwise;
 * - `competitorTotal`: the same amount for a competitor purchase (channel OTHER_MERCHANT), the
 *   share-of-wallet data; null otherwise.
 * So an order counts exactly when `countedTotal IS NOT NULL`, its amount is `countedTotal`, and no
 * reader can diverge (docs/money.md). Both columns are in the covering index
 * `(shopId, customerId, placedAt, countedTotal, competitorTotal)`, so the aggregates stay
 * index-only scans.
 */

const col = (alias: string, name: string) => Prisma.raw(`${alias}."${name}"`);

/** SQL: the order (table alias `alias`) counts as the shop's sale. */
export const counted = (alias = 'o') => Prisma.sql`${col(alias, 'countedTotal')} IS NOT NULL`;
/** SQL: what a counted order adds to revenue / lifetime value, in the base currency. */
export const countedAmount = (alias = 'o') => col(alias, 'countedTotal');
/** SQL: the order is a competitor purchase that counts as share-of-wallet data. */
export const competitor = (alias = 'o') => Prisma.sql`${col(alias, 'competitorTotal')} IS NOT NULL`;
/** SQL: a competitor purchase's amount in the base currency. */
export const competitorAmount = (alias = 'o') => col(alias, 'competitorTotal');

/** Prisma where: counted orders (for the ORM paths, e.g. the stage automation's count). */
export const COUNTED_WHERE = { countedTotal: { not: null } } satisfies Prisma.OrderWhereInput;
