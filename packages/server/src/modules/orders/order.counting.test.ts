import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { recomputeLoyalty, refreshLoyalty, shopKpis } from '../loyalty/loyalty.service.ts';
import { countMatching } from '../segments/segment.compile.ts';
import { parseRule } from '../segments/segment.rule.ts';
import { ExchangeRateMissingError, setBaseCurrency, setExchangeRate, setOrderExcluded, upsertOrder } from './order.service.ts';

/**
 * One fixture, every feature: loyalty, points, stage automation, KPIs and segments must agree with
 * the one counting rule (order.counting.ts). Base currency EUR, default settings (1 point per EUR).
 * alice:
 *   a1 2026-01-01 1000.00 EUR PAID                         counts 1000.00
 *   a2 2026-02-01 100000 JPY at 0.0062 (given with order)   counts  620.00
 *   a3 2026-03-01  500.00 EUR REFUNDED                      never
 *   a4 2026-04-01  300.00 EUR PAID, later refunded 100.00   counts  200.00
 *   a5 2026-05-01  400.00 EUR OTHER_MERCHANT (competitor)   share of wallet 400.00
 *   a6 2026-05-10  250.00 EUR PAID, later excluded          never (borrowed identity)
 *   a7 2026-05-15   50.00 EUR CANCELLED                     never
 *   -> frequency 3, lifetime value 1820.00, AOV 606.67, points 1820, stage REPEAT.
 * bob: b1 2026-03-15 150.00 EUR OTHER_MERCHANT only -> no sale, no points, stage unchanged.
 * KPIs over [2026-01-01, 2026-06-01): orders 3, revenue 1820.00, AOV 606.67, buyers 1, repeat
 * buyers 1, competitor purchases 2 for 550.00 (2 customers).
 */
let tdb: TestDatabase;
let db: ScopedDb;
let shopId: string;
const actor: customers.Actor = { staffId: null, source: 'api' };
const NOW = new Date('2026-06-01T00:00:00Z');
const d = (s: string) => new Date(`${s}T00:00:00Z`);
const ids: Record<string, string> = {};

type Opt = {
  status?: 'PAID' | 'REFUNDED' | 'CANCELLED';
  channel?: 'OTHER_MERCHANT';
  currency?: string;
  exchangeRate?: string;
  refunded?: string;
};
const order = (externalId: string, customer: string, placedAt: string, amount: string, o: Opt = {}) =>
  upsertOrder(db, actor, {
    externalId,
    customerId: ids[customer] as string,
    currency: o.currency ?? 'EUR',
    exchangeRate: o.exchangeRate,
    placedAt: d(placedAt),
    status: o.status ?? 'PAID',
    channel: o.channel,
    refunded: o.refunded,
    items: [{ name: 'Item', quantity: 1, unitPrice: amount }],
  });
const balance = async (c: string) => (await db.pointsAccount.findUnique({ where: { customerId: ids[c] as string } }))?.balance ?? 0;
const members = (rule: string) => countMatching(tenantSql(tdb.prisma, shopId), parseRule(rule), NOW);

beforeAll(async () => {
  tdb = await createTestDatabase();
  shopId = (await tdb.prisma.shop.create({ data: { name: 'M', slug: 'money' } })).id;
  db = forShop(tdb.prisma, shopId);
  for (const n of ['alice', 'bob']) ids[n] = (await customers.createCustomer(db, actor, { email: `${n}@m.test` })).id;
  await order('a1', 'alice', '2026-01-01', '1000');
  await order('a2', 'alice', '2026-02-01', '100000', { currency: 'JPY', exchangeRate: '0.0062' });
  await order('a3', 'alice', '2026-03-01', '500', { status: 'REFUNDED' });
  await order('a4', 'alice', '2026-04-01', '300');
  await order('a5', 'alice', '2026-05-01', '400', { channel: 'OTHER_MERCHANT' });
  const a6 = await order('a6', 'alice', '2026-05-10', '250');
  await order('a7', 'alice', '2026-05-15', '50', { status: 'CANCELLED' });
  await order('b1', 'bob', '2026-03-15', '150', { channel: 'OTHER_MERCHANT' });
  await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW); // points for a4 (300) and a6 (250) as first recorded
  await order('a4', 'alice', '2026-04-01', '300', { refunded: '100' });
  await setOrderExcluded(db, actor, { orderId: a6.order.id, excluded: true, reason: 'placed under a borrowed identity' });
  await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW);
  await recomputeLoyalty(shopBound(tdb.prisma, shopId), NOW);
});
afterAll(() => tdb.close());

describe('one definition of money and of a counting order', () => {
  it('stores base-currency amounts and derives what counts', async () => {
    const rows = await db.order.findMany({ orderBy: { externalId: 'asc' } });
    expect(
      rows.map((o) => [o.externalId, o.baseTotal?.toFixed(2), o.countedTotal?.toFixed(2) ?? null, o.competitorTotal?.toFixed(2) ?? null]),
    ).toEqual([
      ['a1', '1000.00', '1000.00', null],
      ['a2', '620.00', '620.00', null],
      ['a3', '500.00', null, null],
      ['a4', '300.00', '200.00', null],
      ['a5', '400.00', null, '400.00'],
      ['a6', '250.00', null, null],
      ['a7', '50.00', null, null],
      ['b1', '150.00', null, '150.00'],
    ]);
  });

  it('loyalty: frequency, lifetime value and AOV in the base currency', async () => {
    const m = await db.customerMetrics.findUniqueOrThrow({ where: { customerId: ids.alice as string } });
    expect(m.frequency).toBe(3);
    expect(m.lifetimeValue.toFixed(2)).toBe('1820.00');
    expect(m.monetary.toFixed(2)).toBe('1820.00');
    expect(m.averageOrderValue.toFixed(2)).toBe('606.67');
    const b = await db.customerMetrics.findUniqueOrThrow({ where: { customerId: ids.bob as string } });
    expect(b.frequency).toBe(0);
    expect(b.lifetimeValue.toFixed(2)).toBe('0.00');
  });

  it('points: counted amounts only; a partial refund and an exclusion take their points back', async () => {
    expect(await balance('alice')).toBe(1820);
    expect(await balance('bob')).toBe(0);
    const a4 = await db.order.findFirstOrThrow({ where: { externalId: 'a4' } });
    const moves = await db.pointsMovement.findMany({ where: { orderId: a4.id }, orderBy: { createdAt: 'asc' } });
    expect(moves.map((m) => m.points)).toEqual([300, -100]);
  });

  it('stage automation: competitor purchases and excluded orders move no stage', async () => {
    const alice = await db.customer.findUniqueOrThrow({ where: { id: ids.alice as string } });
    const bob = await db.customer.findUniqueOrThrow({ where: { id: ids.bob as string } });
    expect(alice.stage).toBe('REPEAT');
    expect(['SUSPECT', 'PROSPECT']).toContain(bob.stage);
  });

  it('KPIs: revenue, AOV, repurchase and share of wallet agree', async () => {
    const k = await shopKpis(tenantSql(tdb.prisma, shopId), d('2026-01-01'), NOW);
    expect(k).toMatchObject({
      orders: 3,
      revenue: '1820.00',
      averageOrderValue: '606.67',
      buyers: 1,
      repeatBuyers: 1,
      competitorOrders: 2,
      competitorSpend: '550.00',
      competitorBuyers: 2,
    });
  });

  it('segments: the same count, total and average, and competitor purchases as a field', async () => {
    expect(await members('orders.count >= 3')).toBe(1);
    expect(await members('orders.count >= 4')).toBe(0);
    expect(await members('orders.total >= 1820 AND orders.total <= 1820')).toBe(1);
    expect(await members('orders.average > 606.66 AND orders.average < 606.67')).toBe(1);
    expect(await members('competitorOrders.count >= 1')).toBe(2);
    expect(await members('competitorOrders.total >= 400 AND orders.count = 0')).toBe(0);
    expect(await members('competitorOrders.total = 150 AND orders.count = 0')).toBe(1);
  });
});

describe('exchange rates', () => {
  it('rejects an order in another currency without a usable rate, writing nothing', async () => {
    const before = await db.order.count();
    const err = await order('x1', 'bob', '2026-05-01', '10', { currency: 'USD' }).catch((e) => e);
    expect(err).toBeInstanceOf(ExchangeRateMissingError);
    expect(err).toMatchObject({
      code: 'EXCHANGE_RATE_MISSING',
      currency: 'USD',
      baseCurrency: 'EUR',
      inputPath: ['input', 'exchangeRate'],
    });
    expect(await db.order.count()).toBe(before);
    // A base-currency order needs no rate, and may not claim another one.
    const bad = await order('x2', 'bob', '2026-05-01', '10', { exchangeRate: '2' }).catch((e) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    // Invalid rates are validation errors.
    const neg = await order('x3', 'bob', '2026-05-01', '10', { currency: 'USD', exchangeRate: '-1' }).catch((e) => e);
    expect(neg).toBeInstanceOf(ValidationError);
  });

  it("uses the shop's rate, converts orders that were waiting for one, and refuses a base-currency change once orders exist", async () => {
    // An order from before base currencies (migrated without a rate) does not count until one is set.
    const legacy = await order('gbp-1', 'bob', '2026-05-20', '100', { currency: 'GBP', exchangeRate: '1.15' });
    await tdb.prisma.order.update({ where: { id: legacy.order.id }, data: { exchangeRate: null } });
    expect((await db.order.findUniqueOrThrow({ where: { id: legacy.order.id } })).countedTotal).toBeNull();
    const r = await setExchangeRate(db, { currency: 'gbp', rate: '1.2' });
    expect(r.convertedOrders).toBe(1);
    expect((await db.order.findUniqueOrThrow({ where: { id: legacy.order.id } })).countedTotal?.toFixed(2)).toBe('120.00');
    const next = await order('gbp-2', 'bob', '2026-05-21', '10', { currency: 'GBP' });
    expect(next.order.exchangeRate?.toString()).toBe('1.2');
    expect(next.order.countedTotal?.toFixed(2)).toBe('12.00');
    await expect(setExchangeRate(db, { currency: 'EUR', rate: '1' })).rejects.toBeInstanceOf(ValidationError);
    await expect(setBaseCurrency(db, { currency: 'USD' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});
