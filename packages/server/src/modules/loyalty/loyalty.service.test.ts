import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { deleteInteraction, recordInteraction, updateInteraction } from '../interactions/interaction.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import { indicatorScores, loadEvidence, recomputeLoyalty, refreshLoyalty, shopKpis } from './loyalty.service.ts';
import { DEFAULT_LOYALTY, getLoyaltySettings, updateLoyaltySettings } from './loyalty.settings.ts';

/**
 * Hand-computed fixture, "now" = 2026-06-01T00:00Z, default settings:
 * - alice: orders Jan 1 (100, add-on), Mar 1 (200), May 1 (300, add-on), a cancelled May 20 (500):
 *   F 3, M 600, R 31 days, gap (May 1 − Jan 1) / 2 = 60 days, AOV 200, add-on ratio 2/3.
 *   2 Q&A, positive REVIEW + positive WORD_OF_MOUTH (a NEUTRAL review does not count), 1 event,
 *   2 suggestions, 2 surveys of which one {completed:false}; referred r1 (bought) and r2 (did not).
 *   Scores: 67 40 67 33 50 67 33 -> (15·67+10·40+20·67+10·33+20·50+10·67+15·33)/100 = 52.4 -> 52.
 *   Churn: 31 < 1.5·60 -> LOW. Predicted LTV: 600 + 200 · 365/60 · 1 = 1816.67.
 * - bob: one order 2025-06-01 (50): R 365 ≥ 2.5 · 90 (default gap) -> HIGH; 3 complaints in 90 days.
 * - carol: orders Mar 11 and Apr 10 (100 each): gap 30, R 52 ≥ 1.5·30 but < 2.5·30 -> MEDIUM.
 * - dave: one order May 15 (120): R 17, LOW rhythm; inbound messages 4 in the window before, 1 in
 *   the last 90 days -> engagement fell -> MEDIUM.
 * - r1 (referred by alice): order May 25 (80): R 7. r2: no orders: LOW, no RFM.
 * RFM breakpoints over the 5 buyers: R [365,52,31,17], F [1,1,1,2], M [50,80,120,200] ->
 *   alice 355, bob 111, carol 244, dave 413, r1 512.
 */
let tdb: TestDatabase;
let db: ScopedDb;
let shopId: string;
const actor: customers.Actor = { staffId: null, source: 'api' };
const NOW = new Date('2026-06-01T00:00:00Z');
const d = (s: string) => new Date(`${s}T00:00:00Z`);
const ids: Record<string, string> = {};
let orderN = 0;

async function order(customer: string, placedAt: string, total: number, opts: { addOn?: boolean; status?: 'CANCELLED' | 'PAID' } = {}) {
  return upsertOrder(db, actor, {
    externalId: `o-${++orderN}`,
    customerId: ids[customer] as string,
    currency: 'EUR',
    placedAt: d(placedAt),
    status: opts.status ?? 'PAID',
    items: [
      { name: 'Main', quantity: 1, unitPrice: String(opts.addOn ? total - 10 : total) },
      ...(opts.addOn ? [{ name: 'Care kit', quantity: 1, unitPrice: '10', addOn: true }] : []),
    ],
  } as never);
}
async function touch(customer: string, type: string, at: string, extra: Record<string, unknown> = {}) {
  return recordInteraction(db, actor, {
    customerId: ids[customer] as string,
    channel: 'WEB',
    direction: 'INBOUND',
    type,
    occurredAt: d(at),
    ...extra,
  } as never);
}
const metrics = (name: string) => db.customerMetrics.findUniqueOrThrow({ where: { customerId: ids[name] as string } });
const churnEvents = () => tdb.prisma.event.count({ where: { shopId, type: 'CHURN_RISK_RAISED' } });

beforeAll(async () => {
  tdb = await createTestDatabase();
  const shop = await tdb.prisma.shop.create({ data: { name: 'L', slug: 'loyalty-svc' } });
  shopId = shop.id;
  db = forShop(tdb.prisma, shopId);
  for (const n of ['alice', 'bob', 'carol', 'dave']) ids[n] = (await customers.createCustomer(db, actor, { email: `${n}@l.test` })).id;
  for (const n of ['r1', 'r2'])
    ids[n] = (
      await customers.createCustomer(db, actor, { email: `${n}@l.test`, source: { channel: 'REFERRAL', referrerCustomerId: ids.alice } })
    ).id;
  await order('alice', '2026-01-01', 100, { addOn: true });
  await order('alice', '2026-03-01', 200);
  await order('alice', '2026-05-01', 300, { addOn: true });
  await order('alice', '2026-05-20', 500, { addOn: true, status: 'CANCELLED' });
  for (const t of ['QA_PARTICIPATION', 'QA_PARTICIPATION', 'EVENT_ATTENDANCE', 'SUGGESTION', 'SUGGESTION'])
    await touch('alice', t, '2026-05-10');
  await touch('alice', 'REVIEW', '2026-05-11', { sentiment: 'POSITIVE' });
  await touch('alice', 'WORD_OF_MOUTH', '2026-05-11', { sentiment: 'POSITIVE' });
  await touch('alice', 'REVIEW', '2026-05-12', { sentiment: 'NEUTRAL' });
  await touch('alice', 'SURVEY_RESPONSE', '2026-05-12', { metadata: { completed: true } });
  await touch('alice', 'SURVEY_RESPONSE', '2026-05-13', { metadata: { completed: false } });
  await order('bob', '2025-06-01', 50);
  for (const day of ['2026-04-01', '2026-04-15', '2026-05-01']) await touch('bob', 'COMPLAINT', day);
  await order('carol', '2026-03-11', 100);
  await order('carol', '2026-04-10', 100);
  await order('dave', '2026-05-15', 120);
  for (const day of ['2026-01-10', '2026-01-11', '2026-01-12', '2026-01-13', '2026-05-02']) await touch('dave', 'MESSAGE', day);
  await order('r1', '2026-05-25', 80);
});
afterAll(() => tdb.close());

describe('loyalty metrics (full recompute)', () => {
  it('computes RFM, values, indicators, the score and churn exactly as hand-computed', async () => {
    const r = await recomputeLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect(r.customers).toBe(6);
    const a = await metrics('alice');
    expect(a).toMatchObject({
      recencyDays: 31,
      frequency: 3,
      recencyScore: 3,
      frequencyScore: 5,
      monetaryScore: 5,
      rfm: '355',
      typicalGapDays: 60,
      addOnOrders: 2,
      qaParticipations: 2,
      positiveWordOfMouth: 2,
      eventParticipations: 1,
      referralsBought: 1,
      suggestions: 2,
      surveysCompleted: 1,
      loyaltyScore: 52,
      churnRisk: 'LOW',
      churnReasons: [],
    });
    expect(a.monetary.toFixed(2)).toBe('600.00');
    expect(a.lifetimeValue.toFixed(2)).toBe('600.00');
    expect(a.averageOrderValue.toFixed(2)).toBe('200.00');
    expect(a.predictedLifetimeValue.toFixed(2)).toBe('1816.67');
    expect(a.addOnRatio).toBeCloseTo(2 / 3, 6);
    expect(indicatorScores(a, DEFAULT_LOYALTY).map((i) => i.score)).toEqual([67, 40, 67, 33, 50, 67, 33]);

    const b = await metrics('bob');
    expect(b).toMatchObject({ recencyDays: 365, rfm: '111', churnRisk: 'HIGH' });
    expect(b.churnReasons).toEqual([
      '365 days since the last order; typical gap 90 days',
      '3 complaints, disputes or negative interactions in the last 90 days',
    ]);
    expect(await metrics('carol')).toMatchObject({
      recencyDays: 52,
      rfm: '244',
      churnRisk: 'MEDIUM',
      churnReasons: ['52 days since the last order; typical gap 30 days'],
    });
    expect(await metrics('dave')).toMatchObject({
      recencyDays: 17,
      rfm: '413',
      churnRisk: 'MEDIUM',
      churnReasons: ['inbound interactions fell from 4 to 1 (last 90 days vs. the 90 before)'],
    });
    expect(await metrics('r1')).toMatchObject({ recencyDays: 7, rfm: '512', churnRisk: 'LOW' });
    expect(await metrics('r2')).toMatchObject({
      recencyDays: null,
      frequency: 0,
      rfm: null,
      recencyScore: 0,
      loyaltyScore: 0,
      churnRisk: 'LOW',
    });
  });

  it('emits CHURN_RISK_RAISED once per crossing into HIGH, not on every recompute', async () => {
    expect(await churnEvents()).toBe(1);
    const e = await tdb.prisma.event.findFirstOrThrow({ where: { shopId, type: 'CHURN_RISK_RAISED' } });
    expect(e.customerId).toBe(ids.bob);
    expect(e.payload).toMatchObject({ from: 'LOW', to: 'HIGH', customerId: Buffer.from(`Customer:${ids.bob}`).toString('base64') });
    await recomputeLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect(await churnEvents()).toBe(1);
  });

  it('weights are per-shop settings: a different weighting changes the score', async () => {
    await updateLoyaltySettings(db, {
      weights: {
        addOnPurchases: 0,
        qaParticipation: 0,
        positiveWordOfMouth: 0,
        eventParticipation: 0,
        suggestions: 0,
        surveysCompleted: 0,
        referralsBought: 1,
      },
    });
    await recomputeLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect((await metrics('alice')).loyaltyScore).toBe(50);
    await updateLoyaltySettings(db, { weights: null });
    expect((await getLoyaltySettings(db)).weights).toEqual(DEFAULT_LOYALTY.weights);
    await recomputeLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect((await metrics('alice')).loyaltyScore).toBe(52);
  });

  it('rejects invalid settings with issues at the input path', async () => {
    await expect(updateLoyaltySettings(db, { churn: { mediumFactor: 3, highFactor: 2 } })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      issues: [expect.objectContaining({ path: ['input', 'churn', 'highFactor'] })],
    });
    await expect(
      updateLoyaltySettings(db, {
        tiers: [
          { name: 'A', minPoints: 10 },
          { name: 'B', minPoints: 5 },
        ],
      }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });

  it('lists the facts behind each indicator for many customers in one statement', async () => {
    const facts = await loadEvidence(tenantSql(tdb.prisma, shopId), [ids.alice as string, ids.bob as string]);
    const of = (k: string) => facts.filter((f) => f.customerId === ids.alice && f.indicator === k);
    expect(of('qaParticipation')).toHaveLength(2);
    expect(
      of('positiveWordOfMouth')
        .map((f) => f.detail)
        .sort(),
    ).toEqual(['REVIEW', 'WORD_OF_MOUTH']);
    expect(of('surveysCompleted')).toHaveLength(1);
    expect(
      of('addOnPurchases')
        .map((f) => f.detail)
        .sort(),
    ).toEqual(['o-1', 'o-3']);
    expect(of('referralsBought').map((f) => f.id)).toEqual([ids.r1]);
    expect(facts.filter((f) => f.customerId === ids.bob)).toEqual([]);
  });
});

describe('incremental refresh', () => {
  it('folds a new order into the customer row against the stored breakpoints', async () => {
    await order('bob', '2026-05-31', 100);
    const folded = await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect(folded).toBeGreaterThan(0);
    const b = await metrics('bob');
    // F 2, M 150, R 1, gap 364: scores against R [365,52,31,17] F [1,1,1,2] M [50,80,120,200].
    expect(b).toMatchObject({ frequency: 2, recencyDays: 1, rfm: '544', churnRisk: 'MEDIUM' });
    expect(b.churnReasons).toEqual(['3 complaints, disputes or negative interactions in the last 90 days']);
    // Nothing new: no work, and a second refresh is a no-op.
    expect(await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW)).toBe(0);
  });

  it('a referred customer’s first order counts for the referrer', async () => {
    await order('r2', '2026-05-30', 40);
    await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect((await metrics('alice')).referralsBought).toBe(2);
  });

  it('edits and deletions of interactions are folded in too (INTERACTION_UPDATED / INTERACTION_DELETED)', async () => {
    const before = (await metrics('r2')).suggestions;
    const i = await touch('r2', 'SUGGESTION', '2026-05-20');
    await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect((await metrics('r2')).suggestions).toBe(before + 1);
    await updateInteraction(db, i.id, { type: 'QA_PARTICIPATION' } as never);
    await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect(await metrics('r2')).toMatchObject({ suggestions: before, qaParticipations: 1 });
    await deleteInteraction(db, i.id);
    await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect(await metrics('r2')).toMatchObject({ suggestions: before, qaParticipations: 0 });
  });

  it('crossing into HIGH again emits again; the retention follow-up is created when the shop wants it, respecting consent, tolerance and budget', async () => {
    await updateLoyaltySettings(db, { churn: { createFollowUp: true, followUpDueDays: 2 } });
    const before = await churnEvents();
    const createdBefore = await tdb.prisma.event.count({ where: { shopId, type: 'FOLLOW_UP_CREATED' } });
    // Bob's rhythm: 2 orders, gap 364; at now + 2.5 · 364 days he is HIGH again (and so are the
    // other buyers: alice, carol, dave, r1). Only bob may be contacted:
    const later = new Date(NOW.getTime() + 911 * 86_400_000); // 2028-11-28T00:00Z
    const consent = (n: string) =>
      tdb.prisma.consent.create({ data: { shopId, customerId: ids[n] as string, channel: 'EMAIL', granted: true, source: 'test' } });
    // bob: consent, New York, mornings.
    await consent('bob');
    await db.customer.updateMany({ where: { id: ids.bob }, data: { timeZone: 'America/New_York', preferredContactTime: 'MORNING' } });
    // carol: consent but contact tolerance NEVER.
    await consent('carol');
    await db.customer.updateMany({ where: { id: ids.carol }, data: { contactTolerance: 'NEVER' } });
    // dave: no consent at all.
    // alice: consent, but her budget (no tolerance: 4 per 30 days) is spent by 4 planned system follow-ups.
    await consent('alice');
    for (const k of [1, 3, 5, 7])
      await db.followUp.create({
        data: { customerId: ids.alice, kind: 'OFFER', dueAt: new Date(later.getTime() + k * 86_400_000) } as never,
      });
    // r1: consent, WEEKLY, a follow-up planned 3 days after the churn follow-up would be due: too close.
    await consent('r1');
    await db.customer.updateMany({ where: { id: ids.r1 }, data: { contactTolerance: 'WEEKLY' } });
    await db.followUp.create({ data: { customerId: ids.r1, kind: 'SALES', dueAt: new Date(later.getTime() + 4 * 86_400_000) } as never });

    await recomputeLoyalty(shopBound(tdb.prisma, shopId), later);
    expect((await metrics('bob')).churnRisk).toBe('HIGH');
    expect(await churnEvents()).toBeGreaterThan(before);
    const fu = await db.followUp.findFirstOrThrow({ where: { customerId: ids.bob, kind: 'SERVICE_REMINDER' } });
    expect(fu.goal).toContain('churn risk HIGH');
    // later + 2 days = 2028-11-30T00:00Z = 29 Nov 19:00 in New York: that local day's morning window,
    // 09:00 EST = 14:00 UTC.
    expect(fu.dueAt.toISOString()).toBe('2028-11-29T14:00:00.000Z');
    expect(await tdb.prisma.event.count({ where: { shopId, type: 'FOLLOW_UP_CREATED', customerId: ids.bob } })).toBe(1);
    for (const n of ['alice', 'carol', 'dave', 'r1']) {
      expect((await metrics(n)).churnRisk, n).toBe('HIGH');
      expect(await db.followUp.count({ where: { customerId: ids[n], kind: 'SERVICE_REMINDER' } }), n).toBe(0);
    }
    expect(await tdb.prisma.event.count({ where: { shopId, type: 'FOLLOW_UP_CREATED' } })).toBe(createdBefore + 1);
  });
});

describe('shop KPIs', () => {
  it('computes every KPI over the range on the fixture', async () => {
    const k = await shopKpis(tenantSql(tdb.prisma, shopId), d('2026-03-01'), d('2026-06-01'));
    // Orders in range (not cancelled): alice Mar 1 300? no: alice Mar 1 (200), May 1 (300); bob May 31 (100);
    // carol Mar 11, Apr 10 (100, 100); dave May 15 (120); r1 May 25 (80); r2 May 30 (40) = 8 orders, 1040.
    expect(k).toMatchObject({ orders: 8, revenue: '1040.00', averageOrderValue: '130.00', buyers: 6, complaints: 3 });
    // Repeat buyers (≥ 2 orders up to `to`): alice, bob, carol.
    expect(k.repeatBuyers).toBe(3);
    // Bought before Mar 1: alice, bob; both bought again in range -> 0 churned.
    expect(k).toMatchObject({ churnBase: 2, churned: 0 });
    expect(k.sources).toEqual([]);
    // alice's two referred customers have bought by now: the lifecycle ladder (modules/lifecycle, run
    // after the fold) made her STRATEGIC; carol and bob stay REPEAT.
    expect(k.stages).toMatchObject({ REPEAT: 2, STRATEGIC: 1, FIRST_PURCHASE: 3 });
    expect(k.loyalty.scored).toBe(6);
    expect(k.loyalty.buckets.reduce((a, b) => a + b, 0)).toBe(6);
  });
});

describe('scheduler', () => {
  it('a pass folds new events and runs the daily full recompute of shops it has seen', async () => {
    const { createLoyaltyScheduler } = await import('./loyalty.scheduler.ts');
    const { createLogger } = await import('../../logger.ts');
    const s = createLoyaltyScheduler({ prisma: tdb.prisma, logger: createLogger('silent'), intervalMs: 0 });
    await touch('carol', 'SUGGESTION', '2026-05-30');
    const when = new Date(NOW.getTime() + 1000 * 86_400_000);
    const r = await s.tick(when);
    expect(r.refreshed).toBeGreaterThan(0);
    expect(r.recomputed).toBeGreaterThanOrEqual(1);
    expect((await db.loyaltyState.findFirstOrThrow()).fullComputedAt?.getTime()).toBe(when.getTime());
    expect((await metrics('carol')).suggestions).toBe(1);
    // Within a day: no second full recompute.
    expect((await s.tick(new Date(when.getTime() + 3_600_000))).recomputed).toBe(0);
  });
});

describe('the full recompute reports the rows it leaves', () => {
  it('counts every customer but the merged ones, as many as CustomerMetrics holds after it', async () => {
    const shop = shopBound(tdb.prisma, shopId);
    const extra = await customers.createCustomer(db, actor, { email: 'merged-away@example.com' } as never);
    const before = await recomputeLoyalty(shop, NOW);
    expect(before.customers).toBe(await db.customerMetrics.count());
    expect(await db.customerMetrics.count({ where: { customerId: extra.id } })).toBe(1);
    // Marked merged (as a merge leaves it): its metrics row goes, and the count follows.
    await tdb.prisma.customer.update({ where: { id: extra.id }, data: { status: 'MERGED' } });
    const after = await recomputeLoyalty(shop, NOW);
    expect(after.customers).toBe(before.customers - 1);
    expect(after.customers).toBe(await db.customerMetrics.count());
    expect(await db.customerMetrics.count({ where: { customerId: extra.id } })).toBe(0);
  });
});
