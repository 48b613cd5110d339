import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { IdempotencyConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { recordInteractionIdempotent } from '../interactions/interaction.service.ts';
import { fromCents, toCents } from './money.ts';
import { computeTotals, type UpsertOrderInput, upsertOrder, upsertOrderIdempotent } from './order.service.ts';

let tdb: TestDatabase;
let db: ScopedDb;
let other: ScopedDb;
let shopA: string;
const actor: customers.Actor = { staffId: null, source: 'api' };

beforeAll(async () => {
  tdb = await createTestDatabase();
  const a = await tdb.prisma.shop.create({ data: { name: 'A', slug: 'ord-a' } });
  const b = await tdb.prisma.shop.create({ data: { name: 'B', slug: 'ord-b' } });
  shopA = a.id;
  db = forShop(tdb.prisma, a.id);
  other = forShop(tdb.prisma, b.id);
});
afterAll(() => tdb.close());

let n = 0;
const newCustomer = (stage: 'SUSPECT' | 'PROSPECT' | 'LOYAL' | 'CHURNED' | 'ADVOCATE' = 'PROSPECT', d: ScopedDb = db) =>
  customers.createCustomer(d, actor, { email: `c${++n}@orders.test`, stage });

const order = (customerId: string, over: Partial<UpsertOrderInput> = {}): UpsertOrderInput => ({
  externalId: `ord-${++n}`,
  customerId,
  currency: 'EUR',
  items: [
    { sku: 'SOFA', name: 'Sofa', quantity: 1, unitPrice: '499.90' },
    { sku: 'CARE', name: 'Care kit', quantity: 2, unitPrice: '9.95', addOn: true },
  ],
  ...over,
});

const counts = async () => ({
  orders: await tdb.prisma.order.count({ where: { shopId: shopA } }),
  items: await tdb.prisma.orderItem.count({ where: { shopId: shopA } }),
  transitions: await tdb.prisma.stageTransition.count({ where: { shopId: shopA } }),
  keys: await tdb.prisma.idempotencyKey.count({ where: { shopId: shopA } }),
  interactions: await tdb.prisma.interaction.count({ where: { shopId: shopA } }),
});

describe('money', () => {
  it('converts between decimal strings and cents exactly', () => {
    expect(toCents('19.9')).toBe(1990n);
    expect(toCents('0.01')).toBe(1n);
    expect(fromCents(1990n)).toBe('19.90');
    expect(fromCents(-5n)).toBe('-0.05');
    expect(fromCents(toCents('999999999999.99'))).toBe('999999999999.99');
  });

  it('computes subtotal and total; a given total must match', () => {
    const items = [
      { quantity: 3, unitPrice: 333n },
      { quantity: 1, unitPrice: 1n },
    ];
    expect(computeTotals(items, 100n, 50n, 495n, null)).toEqual({
      subtotal: 1000n,
      discount: 100n,
      tax: 50n,
      shipping: 495n,
      total: 1445n,
    });
    expect(() => computeTotals(items, 0n, 0n, 0n, 999n)).toThrow(ValidationError);
    expect(() => computeTotals(items, 1001n, 0n, 0n, null)).toThrow(/Discount exceeds/);
  });
});

describe('upsertOrder', () => {
  it('creates an order with items and computed totals as Decimal(14,2)', async () => {
    const c = await newCustomer();
    const { order, created } = await upsertOrder(db, actor, order_(c.id, { discount: '10', tax: '5.5', shipping: '4.95' }));
    expect(created).toBe(true);
    expect(order.subtotal.toFixed(2)).toBe('519.80');
    expect(order.total.toFixed(2)).toBe('520.25');
    expect(order).toMatchObject({ currency: 'EUR', status: 'PLACED', channel: 'OWN_STORE' });
    const items = await db.orderItem.findMany({ where: { orderId: order.id }, orderBy: { position: 'asc' } });
    expect(items.map((i) => [i.sku, i.quantity, i.unitPrice.toFixed(2), i.addOn])).toEqual([
      ['SOFA', 1, '499.90', false],
      ['CARE', 2, '9.95', true],
    ]);
  });

  it('accepts a matching total and a lower-case currency', async () => {
    const c = await newCustomer();
    const { order } = await upsertOrder(db, actor, order_(c.id, { currency: 'usd', total: '519.80', exchangeRate: '0.92' }));
    expect(order.currency).toBe('USD');
    expect(order.total.toFixed(2)).toBe('519.80');
    expect(order.baseTotal?.toFixed(2)).toBe('478.22');
  });

  it('updates by externalId: status, items and totals are replaced, no duplicate', async () => {
    const c = await newCustomer();
    const input = order_(c.id);
    const first = await upsertOrder(db, actor, input);
    const again = await upsertOrder(db, actor, { ...input, status: 'PAID', items: [{ name: 'Chair', quantity: 4, unitPrice: '25' }] });
    expect(again.created).toBe(false);
    expect(again.order.id).toBe(first.order.id);
    expect(again.order.status).toBe('PAID');
    expect(again.order.total.toFixed(2)).toBe('100.00');
    expect(await db.orderItem.count({ where: { orderId: first.order.id } })).toBe(1);
    expect(await db.order.count({ where: { externalId: input.externalId } })).toBe(1);
  });

  it.each([
    ['negative quantity', { items: [{ name: 'X', quantity: -1, unitPrice: '1.00' }] }, ['input', 'items', '0', 'quantity']],
    ['zero quantity', { items: [{ name: 'X', quantity: 0, unitPrice: '1.00' }] }, ['input', 'items', '0', 'quantity']],
    ['fractional quantity', { items: [{ name: 'X', quantity: 1.5, unitPrice: '1.00' }] }, ['input', 'items', '0', 'quantity']],
    ['negative price', { items: [{ name: 'X', quantity: 1, unitPrice: '-1.00' }] }, ['input', 'items', '0', 'unitPrice']],
    ['three decimals', { items: [{ name: 'X', quantity: 1, unitPrice: '1.005' }] }, ['input', 'items', '0', 'unitPrice']],
    ['NaN price', { items: [{ name: 'X', quantity: 1, unitPrice: 'NaN' }] }, ['input', 'items', '0', 'unitPrice']],
    ['no items', { items: [] }, ['input', 'items']],
    ['unknown currency', { currency: 'XYZ' }, ['input', 'currency']],
    ['currency not a code', { currency: 'Euro' }, ['input', 'currency']],
    ['negative discount', { discount: '-5' }, ['input', 'discount']],
    ['total not matching items', { total: '1.00' }, ['input', 'total']],
    ['discount above subtotal', { discount: '10000' }, ['input', 'discount']],
    ['placedAt 2 days ahead', { placedAt: new Date(Date.now() + 2 * 86_400_000) }, ['input', 'placedAt']],
    ['empty externalId', { externalId: ' ' }, ['input', 'externalId']],
  ])('rejects %s with a ValidationError at its path and writes nothing', async (_l, over, path) => {
    const c = await newCustomer();
    const before = await counts();
    const err = await upsertOrder(db, actor, order_(c.id, over as never)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]?.path).toEqual(path);
    expect(await counts()).toEqual(before);
  });

  it("refuses another shop's customer, an unknown customer and a malformed id; writes nothing", async () => {
    const foreign = await newCustomer('PROSPECT', other);
    const before = await counts();
    for (const id of [foreign.id, '00000000-0000-0000-0000-000000000000', 'nope']) {
      const err = await upsertOrder(db, actor, order_(id)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).inputPath).toEqual(['input', 'customerId']);
    }
    expect(await counts()).toEqual(before);
  });

  it('the same externalId is free in another shop', async () => {
    const a = await newCustomer();
    const b = await newCustomer('PROSPECT', other);
    const input = order_(a.id);
    await upsertOrder(db, actor, input);
    const r = await upsertOrder(other, actor, { ...input, customerId: b.id });
    expect(r.created).toBe(true);
  });
});

describe('stage automation', () => {
  const history = (id: string) => db.stageTransition.findMany({ where: { customerId: id }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });

  it('first order: PROSPECT -> FIRST_PURCHASE, second: REPEAT, recorded as AUTOMATIC with a reason', async () => {
    const c = await newCustomer('PROSPECT');
    const o1 = order_(c.id);
    await upsertOrder(db, actor, o1);
    expect((await customers.getCustomer(db, c.id))?.stage).toBe('FIRST_PURCHASE');
    await upsertOrder(db, actor, { ...o1, status: 'PAID' }); // an update is not a second order
    expect((await customers.getCustomer(db, c.id))?.stage).toBe('FIRST_PURCHASE');
    await upsertOrder(db, actor, order_(c.id));
    expect((await customers.getCustomer(db, c.id))?.stage).toBe('REPEAT');
    const moves = (await history(c.id)).filter((m) => m.source === 'AUTOMATIC');
    expect(moves.map((m) => [m.fromStage, m.toStage])).toEqual([
      ['PROSPECT', 'FIRST_PURCHASE'],
      ['FIRST_PURCHASE', 'REPEAT'],
    ]);
    expect(moves[0]?.reason).toContain(o1.externalId);
  });

  it('a SUSPECT moves too; cancelled orders do not count; cancelling never moves back', async () => {
    const c = await newCustomer('SUSPECT');
    await upsertOrder(db, actor, order_(c.id, { status: 'CANCELLED' }));
    expect((await customers.getCustomer(db, c.id))?.stage).toBe('SUSPECT');
    const o = order_(c.id);
    await upsertOrder(db, actor, o);
    expect((await customers.getCustomer(db, c.id))?.stage).toBe('FIRST_PURCHASE');
    await upsertOrder(db, actor, { ...o, status: 'CANCELLED' });
    expect((await customers.getCustomer(db, c.id))?.stage).toBe('FIRST_PURCHASE');
  });

  it('never moves LOYAL or ADVOCATE customers', async () => {
    for (const stage of ['LOYAL', 'ADVOCATE'] as const) {
      const c = await newCustomer(stage);
      await upsertOrder(db, actor, order_(c.id));
      await upsertOrder(db, actor, order_(c.id));
      expect((await customers.getCustomer(db, c.id))?.stage).toBe(stage);
      expect((await history(c.id)).filter((m) => m.source === 'AUTOMATIC')).toHaveLength(0);
    }
  });

  it('two concurrent first orders end in REPEAT with two recorded moves', async () => {
    const c = await newCustomer('PROSPECT');
    await Promise.all([upsertOrder(db, actor, order_(c.id)), upsertOrder(db, actor, order_(c.id))]);
    expect((await customers.getCustomer(db, c.id))?.stage).toBe('REPEAT');
    expect((await history(c.id)).filter((m) => m.source === 'AUTOMATIC').map((m) => m.toStage)).toEqual(['FIRST_PURCHASE', 'REPEAT']);
  });
});

describe('idempotency', () => {
  it('same key and input returns the first result without new rows; a different input is a conflict', async () => {
    const c = await newCustomer();
    const input = order_(c.id);
    const first = await upsertOrderIdempotent(db, actor, input, 'key-1');
    const before = await counts();
    const again = await upsertOrderIdempotent(db, actor, input, 'key-1');
    expect(again.order.id).toBe(first.order.id);
    expect(again.created).toBe(true);
    expect(await counts()).toEqual(before);
    await expect(upsertOrderIdempotent(db, actor, { ...input, status: 'PAID' }, 'key-1')).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await counts()).toEqual(before);
  });

  it('concurrent duplicates with one key create exactly one order', async () => {
    const c = await newCustomer();
    const input = order_(c.id);
    const before = await counts();
    const results = await Promise.all(Array.from({ length: 5 }, () => upsertOrderIdempotent(db, actor, input, 'key-concurrent')));
    expect(new Set(results.map((r) => r.order.id)).size).toBe(1);
    const after = await counts();
    expect(after.orders).toBe(before.orders + 1);
    expect(after.keys).toBe(before.keys + 1);
  });

  it('a failed request releases its key', async () => {
    const c = await newCustomer();
    const before = await counts();
    await expect(upsertOrderIdempotent(db, actor, order_(c.id, { currency: 'XXX1' }), 'key-fail')).rejects.toBeInstanceOf(ValidationError);
    expect(await counts()).toEqual(before);
    const ok = await upsertOrderIdempotent(db, actor, order_(c.id), 'key-fail');
    expect(ok.created).toBe(true);
  });

  it('keys are per shop', async () => {
    const a = await newCustomer();
    const b = await newCustomer('PROSPECT', other);
    const ra = await upsertOrderIdempotent(db, actor, order_(a.id, { externalId: 'same-ext' }), 'shared-key');
    const rb = await upsertOrderIdempotent(other, actor, order_(b.id, { externalId: 'same-ext' }), 'shared-key');
    expect(ra.order.id).not.toBe(rb.order.id);
  });
});

describe('merge', () => {
  it('two customers with one order each merge into a REPEAT buyer; a LOYAL duplicate still wins', async () => {
    const survivor = await newCustomer('PROSPECT');
    const dup = await newCustomer('PROSPECT');
    await upsertOrder(db, actor, order_(survivor.id));
    await upsertOrder(db, actor, order_(dup.id));
    const merged = await customers.mergeCustomers(db, actor, survivor.id, dup.id);
    expect(merged.stage).toBe('REPEAT');
    const moves = await db.stageTransition.findMany({ where: { customerId: survivor.id }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
    expect(moves.at(-1)).toMatchObject({ fromStage: 'FIRST_PURCHASE', toStage: 'REPEAT', source: 'AUTOMATIC' });

    const s2 = await newCustomer('PROSPECT');
    const loyal = await newCustomer('LOYAL');
    await upsertOrder(db, actor, order_(s2.id));
    await upsertOrder(db, actor, order_(loyal.id));
    expect((await customers.mergeCustomers(db, actor, s2.id, loyal.id)).stage).toBe('LOYAL');
    const m2 = await db.stageTransition.findMany({ where: { customerId: s2.id }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
    expect(m2.slice(-2).map((m) => [m.fromStage, m.toStage, m.source])).toEqual([
      ['FIRST_PURCHASE', 'REPEAT', 'AUTOMATIC'],
      ['REPEAT', 'LOYAL', 'MERGE'],
    ]);
  });

  it('moves orders and interactions to the survivor; idempotent replays still resolve', async () => {
    const survivor = await newCustomer('PROSPECT');
    const dup = await newCustomer('PROSPECT');
    const oInput = order_(dup.id);
    const o = await upsertOrderIdempotent(db, actor, oInput, 'merge-order');
    const iInput = { customerId: dup.id, channel: 'PHONE', direction: 'INBOUND', type: 'INQUIRY' } as const;
    const i = await recordInteractionIdempotent(db, actor, iInput, 'merge-interaction');
    await customers.mergeCustomers(db, actor, survivor.id, dup.id);
    expect(await db.order.findMany({ where: { customerId: survivor.id } })).toMatchObject([{ id: o.order.id }]);
    expect(await db.interaction.findMany({ where: { customerId: survivor.id } })).toMatchObject([{ id: i.id }]);
    expect(await db.order.count({ where: { customerId: dup.id } })).toBe(0);
    // Replays return the same rows, now the survivor's.
    expect((await upsertOrderIdempotent(db, actor, oInput, 'merge-order')).order).toMatchObject({
      id: o.order.id,
      customerId: survivor.id,
    });
    expect(await recordInteractionIdempotent(db, actor, iInput, 'merge-interaction')).toMatchObject({ id: i.id, customerId: survivor.id });
    // Orders placed later under the duplicate's id land on the survivor and count for its stage.
    await upsertOrder(db, actor, order_(dup.id));
    expect(await db.order.count({ where: { customerId: survivor.id } })).toBe(2);
    expect((await customers.getCustomer(db, survivor.id))?.stage).toBe('REPEAT');
  });
});

function order_(customerId: string, over: Partial<UpsertOrderInput> = {}) {
  return order(customerId, over);
}
