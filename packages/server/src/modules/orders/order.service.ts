import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Customer, Order, Prisma } from '../../generated/prisma/client.ts';
import type { LifecycleStage, OrderChannel, OrderStatus } from '../../generated/prisma/enums.ts';
import { withIdempotency } from '../common/idempotency.ts';
import { parseInput } from '../common/validate.ts';
import { type Actor, getCustomer, isUuid, registerMergeStep, STAGE_ORDER } from '../customers/customer.service.ts';
import { emitEvent, emitEvents, gid } from '../events/event.service.ts';
import { reopenedEvent, reopenIfLost } from '../leads/lead-loss.service.ts';
import { fromCents, MAX_CENTS } from './money.ts';
import { orderInputSchema, type UpsertOrderInput } from './order.schema.ts';

export type { UpsertOrderInput } from './order.schema.ts';

/**
 * Orders: synced from the shop's commerce platform (or recorded for marketplace / offline sales)
 * by `externalId`, unique per shop. Totals rule: the server computes
 * `subtotal = Σ quantity × unitPrice`; `total` must equal `subtotal − discount + tax + shipping`
 * (a given total that does not is a ValidationError at input.total; an omitted one is computed).
 * Every non-cancelled order moves the customer forward: the first makes a SUSPECT/PROSPECT a
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
 * Moves the (locked) customer forward after an order change: 1 non-cancelled order -> FIRST_PURCHASE,
 * 2+ -> REPEAT. Only SUSPECT/PROSPECT/FIRST_PURCHASE move; a CHURNED customer placing a new order is
 * reactivated. LOYAL, ADVOCATE and PARTNER stay.
 */
async function advanceStage(
  t: ScopedTx,
  actor: Actor,
  customer: Customer,
  externalId: string,
  newOrder: boolean,
  why?: string,
): Promise<{ from: LifecycleStage; to: LifecycleStage } | null> {
  const count = await t.order.count({ where: { customerId: customer.id, status: { not: 'CANCELLED' } } });
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
    db.$transaction(async (t) => {
      const found = isUuid(p.customerId) ? await getCustomer(t, p.customerId, true) : null;
      if (!found || found.status === 'MERGED') throw new NotFoundError('Customer', ['input', 'customerId']);
      // Locks the customer row: orders of one customer are serialised, so the stage automation
      // counts them correctly under concurrency.
      const customer = await t.customer.update({ where: { id: found.id }, data: { updatedAt: new Date() } });
      const existing = await t.order.findFirst({ where: { externalId: p.externalId } });
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
      const moved = await advanceStage(t, actor, customer, p.externalId, !existing && data.status !== 'CANCELLED');
      // A lost lead who orders came back.
      const reopened = !existing && data.status !== 'CANCELLED' && customer.lostAt ? await reopenIfLost(t, customer.id, 'ORDER') : false;
      const customerGid = gid('Customer', customer.id);
      await emitEvent(t, {
        type: 'ORDER_RECORDED',
        customerId: customer.id,
        payload: {
          orderId: gid('Order', order.id),
          customerId: customerGid,
          externalId: order.externalId,
          status: order.status,
          channel: order.channel,
          currency: order.currency,
          total: order.total.toFixed(2),
          created: !existing,
        },
      });
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
    // A concurrent upsert created the same externalId first: this one becomes an update.
    if (isUniqueViolation(err)) {
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
registerMergeStep(async (t, survivorId, duplicateId) => {
  const moved = await t.order.updateMany({ where: { customerId: duplicateId }, data: { customerId: survivorId } });
  if (!moved.count) return;
  const survivor = await t.customer.findUnique({ where: { id: survivorId } });
  if (survivor) await advanceStage(t, { staffId: null }, survivor, '', false, `Orders merged from duplicate ${duplicateId}`);
});
