import { inTransaction, isOpenTransaction, type ScopedDb, type ScopedTx } from '../../db/tenant.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Customer, Order, Prisma } from '../../generated/prisma/client.ts';
import type { LifecycleStage, OrderChannel, OrderStatus } from '../../generated/prisma/enums.ts';
import { withIdempotency } from '../common/idempotency.ts';
import { parseInput } from '../common/validate.ts';
import { type Actor, getCustomer, isUuid, type MergeStep, STAGE_ORDER } from '../customers/customer.service.ts';
import { type EmitEvent, emitEvent, emitEvents, gid } from '../events/event.service.ts';
import { reopenedEvent, reopenIfLost } from '../leads/lead-loss.service.ts';
import { fromCents, MAX_CENTS } from './money.ts';
import { COUNTED_WHERE } from './order.counting.ts';
import {
  currencySchema,
  exchangeRateSchema,
  orderInputSchema,
  type SetExchangeRateInput,
  type SetOrderExcludedInput,
  setOrderExcludedSchema,
  type UpsertOrderInput,
} from './order.schema.ts';

export type { SetExchangeRateInput, SetOrderExcludedInput, UpsertOrderInput } from './order.schema.ts';

/** An order in a currency other than the shop's base currency, without a rate given or set by the shop. */
export class ExchangeRateMissingError extends AppError {
  constructor(
    readonly currency: string,
    readonly baseCurrency: string,
  ) {
    super(
      'EXCHANGE_RATE_MISSING',
      `No exchange rate from ${currency} to the shop's base currency ${baseCurrency}: give input.exchangeRate or set one with setExchangeRate`,
      ['input', 'exchangeRate'],
    );
  }
}

/**
 * Orders: synced from the shop's commerce platform (or recorded for marketplace / offline sales)
 * by `externalId`, unique per shop. Totals rule: the server computes
 * `subtotal = Σ quantity × unitPrice`; `total` must equal `subtotal − discount + tax + shipping`
 * (a given total that does not is a ValidationError at input.total; an omitted one is computed).
 * Every counted order (order.counting.ts: not cancelled/refunded/excluded, not a competitor purchase) moves the customer forward: the first makes a SUSPECT/PROSPECT a
 * FIRST_PURCHASE, the second makes REPEAT (recorded as AUTOMATIC stage transitions); a customer is
 * never moved backwards.
 */
export type OrderResult = { order: Order; created: boolean };

type Totals = { subtotal: bigint; discount: bigint; tax: bigint; shipping: bigint; total: bigint };

export function computeTotals(
  items: { quantity: number; unitPrice: bigint }[],
  discount: bigint,
  tax: bigint,
  shipping: bigint,
  givenTotal: bigint | null | undefined,
): Totals {
  const subtotal = items.reduce((s, i) => s + BigInt(i.quantity) * i.unitPrice, 0n);
  if (subtotal > MAX_CENTS) throw ValidationError.field(['input', 'items'], 'Subtotal too large (at most 999999999999.99)');
  const total = subtotal - discount + tax + shipping;
  if (discount > subtotal) throw ValidationError.field(['input', 'discount'], 'Discount exceeds the subtotal');
  if (total > MAX_CENTS) throw ValidationError.field(['input', 'total'], 'Total too large (at most 999999999999.99)');
  if (givenTotal != null && givenTotal !== total) {
    throw ValidationError.field(
      ['input', 'total'],
      `Total ${fromCents(givenTotal)} does not match subtotal ${fromCents(subtotal)} - discount ${fromCents(discount)} + tax ${fromCents(tax)} + shipping ${fromCents(shipping)} = ${fromCents(total)}`,
      'total_mismatch',
    );
  }
  return { subtotal, discount, tax, shipping, total };
}

const stageRank = (s: LifecycleStage) => STAGE_ORDER.indexOf(s);

/**
 * Moves the (locked) customer forward after an order change: 1 counted order (order.counting.ts) -> FIRST_PURCHASE,
 * 2+ -> REPEAT. Only SUSPECT/PROSPECT/FIRST_PURCHASE move; a CHURNED customer placing a new order is
 * reactivated. LOYAL, ADVOCATE, STRATEGIC and PARTNER stay (modules/lifecycle moves those from facts).
 */
async function advanceStage(
  t: ScopedTx,
  actor: Actor,
  customer: Customer,
  externalId: string,
  newOrder: boolean,
  why?: string,
): Promise<{ from: LifecycleStage; to: LifecycleStage } | null> {
  const count = await t.order.count({ where: { customerId: customer.id, ...COUNTED_WHERE } });
  const target: LifecycleStage | null = count >= 2 ? 'REPEAT' : count === 1 ? 'FIRST_PURCHASE' : null;
  if (!target) return null;
  const current = customer.stage;
  if (current === 'CHURNED') {
    if (!newOrder) return null;
  } else if (stageRank(current) >= stageRank(target)) return null;
  const reason =
    why ??
    (current === 'CHURNED'
      ? `Ordered again after churn (order ${externalId})`
      : target === 'FIRST_PURCHASE'
        ? `First order (${externalId})`
        : `Repeat order: ${count} orders (latest ${externalId})`);
  await t.stageTransition.create({
    data: {
      customerId: customer.id,
      fromStage: current,
      toStage: target,
      source: 'AUTOMATIC',
      reason,
      actorStaffId: actor.staffId,
    } as never,
  });
  await t.customer.update({ where: { id: customer.id }, data: { stage: target, version: { increment: 1 } } });
  return { from: current, to: target };
}

function isUniqueViolation(err: unknown) {
  return (err as { code?: string })?.code === 'P2002';
}

/** Creates or updates (by externalId) an order with its items; runs the stage automation. */
export async function upsertOrder(db: ScopedDb, actor: Actor, input: UpsertOrderInput): Promise<OrderResult> {
  const p = parseInput(orderInputSchema, input, ['input']);
  const totals = computeTotals(p.items, p.discount ?? 0n, p.tax ?? 0n, p.shipping ?? 0n, p.total);
  const attempt = () =>
    inTransaction(db, async (t) => {
      const found = isUuid(p.customerId) ? await getCustomer(t, p.customerId, true) : null;
      if (!found || found.status === 'MERGED') throw new NotFoundError('Customer', ['input', 'customerId']);
      // Locks the customer row: orders of one customer are serialised, so the stage automation
      // counts them correctly under concurrency.
      const customer = await t.customer.update({ where: { id: found.id }, data: { updatedAt: new Date() } });
      const existing = await t.order.findFirst({ where: { externalId: p.externalId } });
      const shop = await t.shop.findFirstOrThrow({ select: { baseCurrency: true } });
      const exchangeRate = await resolveRate(t, shop.baseCurrency, p.currency, p.exchangeRate, existing);
      const refunded = p.refunded ?? (existing ? BigInt(existing.refunded.mul(100).toFixed(0)) : 0n);
      if (refunded > totals.total) {
        throw ValidationError.field(['input', 'refunded'], `Refunded ${fromCents(refunded)} exceeds the total ${fromCents(totals.total)}`);
      }
      const data = {
        customerId: customer.id,
        channel: (p.channel ?? existing?.channel ?? 'OWN_STORE') as OrderChannel,
        status: (p.status ?? existing?.status ?? 'PLACED') as OrderStatus,
        placedAt: p.placedAt ?? existing?.placedAt ?? new Date(),
        currency: p.currency,
        subtotal: fromCents(totals.subtotal),
        discount: fromCents(totals.discount),
        tax: fromCents(totals.tax),
        shipping: fromCents(totals.shipping),
        total: fromCents(totals.total),
        refunded: fromCents(refunded),
        exchangeRate,
      };
      let order: Order;
      if (existing) {
        order = await t.order.update({ where: { id: existing.id }, data });
        await t.orderItem.deleteMany({ where: { orderId: existing.id } });
      } else {
        order = await t.order.create({ data: { ...data, externalId: p.externalId } as never });
      }
      await t.orderItem.createMany({
        data: p.items.map((i, position) => ({
          orderId: order.id,
          position,
          sku: i.sku || null,
          name: i.name,
          quantity: i.quantity,
          unitPrice: fromCents(i.unitPrice),
          addOn: i.addOn ?? false,
        })) as never,
      });
      const moved = await advanceStage(t, actor, customer, p.externalId, !existing && order.countedTotal != null);
      // A lost lead who orders came back.
      const reopened = !existing && order.countedTotal != null && customer.lostAt ? await reopenIfLost(t, customer.id, 'ORDER') : false;
      const customerGid = gid('Customer', customer.id);
      await emitEvent(t, orderRecorded(order, shop.baseCurrency, !existing));
      if (moved) {
        await emitEvent(t, {
          type: 'STAGE_CHANGED',
          customerId: customer.id,
          payload: { customerId: customerGid, from: moved.from, to: moved.to, source: 'AUTOMATIC' },
        });
      }
      if (reopened) await emitEvents(t, [reopenedEvent(customer.id, 'ORDER')]);
      return { order, created: !existing };
    });
  try {
    return await attempt();
  } catch (err) {
    // A concurrent upsert created the same externalId first: this one becomes an update (inside a
    // caller's transaction the caller retries: the failed statement aborted that transaction).
    if (isUniqueViolation(err) && !isOpenTransaction(db)) {
      try {
        return await attempt();
      } catch (err2) {
        if (isUniqueViolation(err2)) throw new ConflictError('Another order has this externalId', ['input', 'externalId']);
        throw err2;
      }
    }
    throw err;
  }
}

/** The ORDER_RECORDED event of an order change (the loyalty refresh folds it into points and metrics). */
function orderRecorded(order: Order, baseCurrency: string, created: boolean): EmitEvent {
  return {
    type: 'ORDER_RECORDED',
    customerId: order.customerId,
    payload: {
      orderId: gid('Order', order.id),
      customerId: gid('Customer', order.customerId),
      externalId: order.externalId,
      status: order.status,
      channel: order.channel,
      currency: order.currency,
      total: order.total.toFixed(2),
      refunded: order.refunded.toFixed(2),
      baseCurrency,
      countedTotal: order.countedTotal?.toFixed(2) ?? null,
      excluded: order.excluded,
      created,
    },
  };
}

/**
 * The rate of an order: 1 in the base currency; else the rate given with the order, else the one
 * the order already had (an update in the same currency keeps its rate at placement), else the
 * shop's rate for the currency; none of them: ExchangeRateMissingError.
 */
async function resolveRate(
  t: ScopedTx,
  base: string,
  currency: string,
  given: string | null | undefined,
  existing: Order | null,
): Promise<string> {
  if (currency === base) {
    if (given != null && Number(given) !== 1) {
      throw ValidationError.field(['input', 'exchangeRate'], `The order is in the base currency ${base}: the rate is 1`);
    }
    return '1';
  }
  if (given != null) return given;
  if (existing && existing.currency === currency && existing.exchangeRate != null) return existing.exchangeRate.toString();
  const shopRate = await t.exchangeRate.findFirst({ where: { currency } });
  if (shopRate) return shopRate.rate.toString();
  throw new ExchangeRateMissingError(currency, base);
}

/**
 * Excludes an order from (or re-includes it in) the customer's metrics, e.g. one placed under a
 * borrowed identity. The order stays visible; it stops counting everywhere (order.counting.ts). The
 * stage automation only moves forward: re-including can advance the customer, excluding never
 * demotes (a stage move is a recorded fact; staff can set the stage by hand).
 */
export async function setOrderExcluded(db: ScopedDb, actor: Actor, input: SetOrderExcludedInput): Promise<Order> {
  const p = parseInput(setOrderExcludedSchema, input, ['input']);
  return db.$transaction(async (t) => {
    const found = isUuid(p.orderId) ? await t.order.findUnique({ where: { id: p.orderId } }) : null;
    if (!found) throw new NotFoundError('Order', ['input', 'orderId']);
    const customer = await t.customer.update({ where: { id: found.customerId }, data: { updatedAt: new Date() } });
    const order = await t.order.update({
      where: { id: found.id },
      data: { excluded: p.excluded, excludedReason: p.excluded ? (p.reason ?? null) : null },
    });
    const shop = await t.shop.findFirstOrThrow({ select: { baseCurrency: true } });
    const moved = await advanceStage(t, actor, customer, order.externalId, false);
    const events: EmitEvent[] = [orderRecorded(order, shop.baseCurrency, false)];
    if (moved) {
      events.push({
        type: 'STAGE_CHANGED',
        customerId: customer.id,
        payload: { customerId: gid('Customer', customer.id), from: moved.from, to: moved.to, source: 'AUTOMATIC' },
      });
    }
    await emitEvents(t, events);
    return order;
  });
}

/**
 * Sets the shop's rate for a currency (1 unit = `rate` units of the base currency), used for new
 * orders that come without a rate. Orders in that currency still without a rate (recorded before
 * the shop had a base currency) are converted now and start to count.
 */
export async function setExchangeRate(db: ScopedDb, input: SetExchangeRateInput) {
  const currency = parseInput(currencySchema, input.currency, ['input', 'currency']);
  const rate = parseInput(exchangeRateSchema, input.rate, ['input', 'rate']);
  return db.$transaction(async (t) => {
    const shop = await t.shop.findFirstOrThrow({ select: { baseCurrency: true } });
    if (currency === shop.baseCurrency) {
      throw ValidationError.field(['input', 'currency'], `${currency} is the shop's base currency (rate 1)`);
    }
    const existing = await t.exchangeRate.findFirst({ where: { currency } });
    const row = existing
      ? await t.exchangeRate.update({ where: { id: existing.id }, data: { rate } })
      : await t.exchangeRate.create({ data: { currency, rate } as never });
    const pending = await t.order.findMany({ where: { currency, exchangeRate: null }, select: { id: true } });
    if (pending.length) {
      await t.order.updateMany({ where: { id: { in: pending.map((o) => o.id) } }, data: { exchangeRate: rate } });
      const converted = await t.order.findMany({ where: { id: { in: pending.map((o) => o.id) } } });
      await emitEvents(
        t,
        converted.map((o) => orderRecorded(o, shop.baseCurrency, false)),
      );
    }
    return { rate: row, convertedOrders: pending.length };
  });
}

/**
 * Changes the shop's base currency. Only while the shop has no orders: every stored base amount
 * would otherwise be in the old currency (docs/money.md).
 */
export async function setBaseCurrency(db: ScopedDb, input: { currency: string }) {
  const currency = parseInput(currencySchema, input.currency, ['input', 'currency']);
  return db.$transaction(async (t) => {
    const shop = await t.shop.findFirstOrThrow();
    if (shop.baseCurrency === currency) return shop;
    if (await t.order.findFirst({ select: { id: true } })) {
      throw new ConflictError('The base currency can only change while the shop has no orders', ['input', 'currency']);
    }
    await t.exchangeRate.deleteMany({ where: { currency } });
    return t.shop.update({ where: { id: shop.id }, data: { baseCurrency: currency } });
  });
}

/** upsertOrder with an optional idempotency key; a replay returns the first result. */
export async function upsertOrderIdempotent(
  db: ScopedDb,
  actor: Actor,
  input: UpsertOrderInput,
  idempotencyKey?: string | null,
): Promise<OrderResult> {
  const { result } = await withIdempotency(db, 'upsertOrder', idempotencyKey, input, async () => {
    const r = await upsertOrder(db, actor, input);
    return { orderId: r.order.id, created: r.created };
  });
  const order = await db.order.findUnique({ where: { id: result.orderId } });
  if (!order) throw new NotFoundError('Order', ['input', 'idempotencyKey']);
  return { order, created: result.created };
}

export type OrderFilter = {
  statuses?: OrderStatus[] | null;
  channels?: OrderChannel[] | null;
  customerId?: string | null;
  currency?: string | null;
  placedAfter?: Date | null;
  placedBefore?: Date | null;
  externalId?: string | null;
};

export function orderWhere(f: OrderFilter | null | undefined): Prisma.OrderWhereInput {
  const and: Prisma.OrderWhereInput[] = [];
  if (f?.statuses?.length) and.push({ status: { in: f.statuses } });
  if (f?.channels?.length) and.push({ channel: { in: f.channels } });
  if (f?.customerId != null) {
    if (!isUuid(f.customerId)) throw ValidationError.field(['filter', 'customerId'], 'Not a customer id');
    and.push({ customerId: f.customerId });
  }
  if (f?.currency) and.push({ currency: f.currency.trim().toUpperCase() });
  if (f?.placedAfter) and.push({ placedAt: { gte: f.placedAfter } });
  if (f?.placedBefore) and.push({ placedAt: { lt: f.placedBefore } });
  if (f?.externalId) and.push({ externalId: f.externalId });
  return { AND: and };
}

// Merging customers moves the duplicate's orders to the survivor (ids unchanged, so idempotency
// results naming them keep working).
// The survivor's stage then follows its orders (two customers with one order each make a REPEAT).
export const mergeOrders: MergeStep = async (t, survivorId, duplicateId) => {
  const moved = await t.order.updateMany({ where: { customerId: duplicateId }, data: { customerId: survivorId } });
  if (!moved.count) return;
  const survivor = await t.customer.findUnique({ where: { id: survivorId } });
  if (survivor) await advanceStage(t, { staffId: null }, survivor, '', false, `Orders merged from duplicate ${duplicateId}`);
};
