import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { deleteInteraction, recordInteraction, updateInteraction } from '../interactions/interaction.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import { parseRule } from '../segments/segment.rule.ts';
import { previewSegment } from '../segments/segment.service.ts';
import { recomputeLoyalty } from './loyalty.service.ts';
import { getLoyaltySettings, updateLoyaltySettings } from './loyalty.settings.ts';
import { satisfactionOf } from './satisfaction.graphql.ts';
import { indicatorDiagnosis, monthWindows, PLAYBOOK, satisfactionIndex, weakest } from './satisfaction.service.ts';

/**
 * Hand-computed fixture, "now" = 2026-06-15T00:00Z, default settings (leavingAfterDays 180); the
 * index over 3 months: April, May, June 1-15.
 *
 * Answers: a CSAT 3 (Apr 10), NPS 6 (Apr 20), CSAT 5 (May 10); b NPS 10 (May 5), NPS 7 (Jun 2);
 * c CSAT 4 (May 20), CSAT 1 (Jun 1, deleted); e NPS 9 (Jun 3); d none.
 *   a: csat 5 (prev 3, UP), nps 6; latest answer CSAT 5 -> very satisfied.
 *   b: nps 7 (prev 10, DOWN) -> not. c: csat 4 -> not. e: nps 9 -> very satisfied. d: null.
 * Opinions: May a REVIEW POSITIVE, b WORD_OF_MOUTH NEGATIVE, c REVIEW NEUTRAL, d REVIEW without
 *   sentiment (not an opinion); June e REVIEW POSITIVE.
 * Complaints: b COMPLAINT Apr 12, e COMPLAINT Jun 4.
 * Orders (EUR = base): a 2025-10-01 100, 2026-04-05 200, 05-15 300 (discount 30); b 2025-11-01 50;
 *   c 04-10 100 (discount 10), 06-05 100; d 2025-12-20 80, 05-25 120; e 06-03 75, 05-02 999 cancelled.
 *
 * April: answers 2, very 0 -> 0 (score 0); no opinions -> reputation left out; buyers a, c, a
 *   repeat -> 0.5 (100); complaints 1 / 2 orders = 0.5 (10); AOV 150 vs trailing (Apr 2025-Mar 2026:
 *   100, 50, 80) 76.67 -> 100; discounted 1/2 (0.3/0.5 -> 60); leaving: active at Apr 1 (an order
 *   since 2025-10-03) b, d; b's 180 days ran out (Nov 1 < May 1 − 180 d = Nov 2) -> 1/2 (10).
 *   Index = (25·0 + 20·100 + 15·10 + 5·100 + 5·60 + 15·10) / 85 = 3100 / 85 = 36.5.
 * May: 2/3 very (100); reputation 1/3 -> 0.3333/0.8 -> 42; buyers a, d both repeat -> 1 (100);
 *   0 complaints (100); AOV 210 vs 106 (530 / 5) -> 100; discounted 1/2 (60); leaving: active a, c,
 *   d, none left (c: Apr 10 is not before Jun 1 − 180 d) -> 0 (100). Index 8930 / 100 = 89.3.
 * June 1-15: 1/2 very (100); reputation 1/1 (100); buyers c (repeat), e -> 0.5 (100); complaints
 *   1/2 (10); AOV 87.5 vs 135.71 (950 / 7) -> 64; no discount (100); leaving 0/3 (100).
 *   Index (2500 + 1500 + 2000 + 150 + 320 + 500 + 1500) / 100 = 84.7.
 *
 * Loyalty indicators (as of now, 5 active customers): surveys a 3, b 2, c 1, e 1, d 0 -> scores
 *   100, 67, 33, 33, 0: average value 1.4, score 46.6, reach 0.8, bands [1, 2, 0, 1, 1]; Q&A d 2
 *   (Apr 15, 16) -> 40: average score 8; positive word of mouth a, e 1 -> 33: 13.2; the rest 0.
 *   Monthly facts: surveys Apr 2, May 3 (UP, +1); Q&A Apr 2, May 0 (DOWN, −2); word of mouth Apr 0,
 *   May 1 (UP). Weakest 3: the 0-average indicators by weight: referrals (20), add-ons (15), events (10, before suggestions).
 */
let tdb: TestDatabase;
let db: ScopedDb;
let shopId: string;
const actor: customers.Actor = { staffId: null, source: 'api' };
const NOW = new Date('2026-06-15T00:00:00Z');
const d = (s: string) => new Date(`${s}T00:00:00Z`);
const ids: Record<string, string> = {};
let orderN = 0;
const sql = () => tenantSql(tdb.prisma, shopId);

async function order(customer: string, placedAt: string, total: number, opts: { discount?: number; status?: 'CANCELLED' } = {}) {
  return upsertOrder(db, actor, {
    externalId: `o-${++orderN}`,
    customerId: ids[customer] as string,
    currency: 'EUR',
    placedAt: d(placedAt),
    status: opts.status ?? 'PAID',
    discount: opts.discount ? String(opts.discount) : undefined,
    items: [{ name: 'Main', quantity: 1, unitPrice: String(total + (opts.discount ?? 0)) }],
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
const answer = (customer: string, kind: 'CSAT' | 'NPS', score: number, at: string) =>
  touch(customer, 'SURVEY_RESPONSE', at, { surveyKind: kind, score });
const metrics = (name: string) => db.customerMetrics.findUniqueOrThrow({ where: { customerId: ids[name] as string } });

beforeAll(async () => {
  tdb = await createTestDatabase();
  const shop = await tdb.prisma.shop.create({ data: { name: 'S', slug: 'satisfaction-svc' } });
  shopId = shop.id;
  db = forShop(tdb.prisma, shopId);
  for (const n of ['a', 'b', 'c', 'd', 'e']) ids[n] = (await customers.createCustomer(db, actor, { email: `${n}@s.test` })).id;
  await answer('a', 'CSAT', 3, '2026-04-10');
  await answer('a', 'NPS', 6, '2026-04-20');
  await answer('a', 'CSAT', 5, '2026-05-10');
  await answer('b', 'NPS', 10, '2026-05-05');
  await answer('b', 'NPS', 7, '2026-06-02');
  await answer('c', 'CSAT', 4, '2026-05-20');
  const gone = await answer('c', 'CSAT', 1, '2026-06-01');
  await deleteInteraction(db, gone.id);
  await answer('e', 'NPS', 9, '2026-06-03');
  await touch('a', 'REVIEW', '2026-05-11', { sentiment: 'POSITIVE' });
  await touch('b', 'WORD_OF_MOUTH', '2026-05-12', { sentiment: 'NEGATIVE' });
  await touch('c', 'REVIEW', '2026-05-13', { sentiment: 'NEUTRAL' });
  await touch('d', 'REVIEW', '2026-05-14');
  await touch('e', 'REVIEW', '2026-06-04', { sentiment: 'POSITIVE' });
  await touch('b', 'COMPLAINT', '2026-04-12');
  await touch('e', 'COMPLAINT', '2026-06-04');
  await touch('d', 'QA_PARTICIPATION', '2026-04-15');
  await touch('d', 'QA_PARTICIPATION', '2026-04-16');
  await order('a', '2025-10-01', 100);
  await order('a', '2026-04-05', 200);
  await order('a', '2026-05-15', 300, { discount: 30 });
  await order('b', '2025-11-01', 50);
  await order('c', '2026-04-10', 100, { discount: 10 });
  await order('c', '2026-06-05', 100);
  await order('d', '2025-12-20', 80);
  await order('d', '2026-05-25', 120);
  await order('e', '2026-06-03', 75);
  await order('e', '2026-05-02', 999, { status: 'CANCELLED' });
  await recomputeLoyalty(shopBound(tdb.prisma, shopId), NOW);
});

afterAll(async () => {
  await tdb?.close();
});

describe('survey answers', () => {
  it.each([
    ['a score without a kind', { type: 'SURVEY_RESPONSE', score: 3 }, 'surveyKind'],
    ['a kind on another type', { type: 'REVIEW', surveyKind: 'CSAT', score: 3 }, 'surveyKind'],
    ['a kind without a score', { type: 'SURVEY_RESPONSE', surveyKind: 'NPS' }, 'score'],
    ['CSAT 0', { type: 'SURVEY_RESPONSE', surveyKind: 'CSAT', score: 0 }, 'score'],
    ['CSAT 6', { type: 'SURVEY_RESPONSE', surveyKind: 'CSAT', score: 6 }, 'score'],
    ['NPS -1', { type: 'SURVEY_RESPONSE', surveyKind: 'NPS', score: -1 }, 'score'],
    ['NPS 11', { type: 'SURVEY_RESPONSE', surveyKind: 'NPS', score: 11 }, 'score'],
    ['a fractional score', { type: 'SURVEY_RESPONSE', surveyKind: 'NPS', score: 7.5 }, 'score'],
  ])('refuses %s with a ValidationError at the field, writing nothing', async (_name, input, field) => {
    const before = await db.interaction.count();
    await expect(
      recordInteraction(db, actor, { customerId: ids.d as string, channel: 'EMAIL', direction: 'INBOUND', ...input } as never),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', inputPath: ['input', field] });
    expect(await db.interaction.count()).toBe(before);
  });

  it('accepts the ends of both scales, and checks an update against the stored answer', async () => {
    const lo = await touch('d', 'SURVEY_RESPONSE', '2026-01-01', { surveyKind: 'NPS', score: 0 });
    const hi = await touch('d', 'SURVEY_RESPONSE', '2026-01-02', { surveyKind: 'CSAT', score: 5 });
    expect([lo.score, hi.score]).toEqual([0, 5]);
    await expect(updateInteraction(db, hi.id, { score: 6 })).rejects.toMatchObject({ inputPath: ['input', 'score'] });
    await expect(updateInteraction(db, hi.id, { type: 'REVIEW' })).rejects.toMatchObject({ inputPath: ['input', 'surveyKind'] });
    expect((await updateInteraction(db, lo.id, { surveyKind: 'CSAT', score: 1 })).surveyKind).toBe('CSAT');
    expect((await updateInteraction(db, lo.id, { surveyKind: null, score: null })).score).toBeNull();
    // The database refuses an out-of-scale score even past the service.
    await expect(tdb.prisma.$executeRaw`UPDATE "Interaction" SET score = 11 WHERE id = ${hi.id}::uuid`).rejects.toThrow();
    for (const x of [lo, hi]) await deleteInteraction(db, x.id);
  });
});

describe('per-customer satisfaction', () => {
  it('keeps the latest and previous score of each kind and the "very satisfied" flag', async () => {
    const a = await metrics('a');
    expect([a.csatLatest, a.csatPrevious, a.csatAt, a.npsLatest, a.npsPrevious, a.verySatisfied]).toEqual([
      5,
      3,
      d('2026-05-10'),
      6,
      null,
      true,
    ]);
    const b = await metrics('b');
    expect([b.npsLatest, b.npsPrevious, b.csatLatest, b.verySatisfied]).toEqual([7, 10, null, false]);
    const c = await metrics('c');
    expect([c.csatLatest, c.csatPrevious, c.verySatisfied]).toEqual([4, null, false]);
    expect((await metrics('e')).verySatisfied).toBe(true);
    expect(satisfactionOf(await metrics('d'))).toBeNull();
    const va = satisfactionOf(a);
    expect([va?.latest.kind, va?.latest.latest, va?.latest.previous, va?.nps?.latest]).toEqual(['CSAT', 5, 3, 6]);
    expect(satisfactionOf(b)?.latest).toMatchObject({ kind: 'NPS', latest: 7, previous: 10, at: d('2026-06-02') });
  });

  it('is a segment field', async () => {
    const members = async (rule: string) =>
      (await previewSegment({ sql: sql() }, parseRule(rule), { first: 100, now: NOW })).memberIds
        .map((id) => Object.keys(ids).find((k) => ids[k] === id))
        .sort();
    expect(await members('satisfaction.verySatisfied = true')).toEqual(['a', 'e']);
    expect(await members('satisfaction.nps >= 7')).toEqual(['b', 'e']);
    expect(await members('satisfaction.csat IS NULL')).toEqual(['b', 'd', 'e']);
  });
});

describe('satisfaction index', () => {
  it('computes each month from its facts, with values, targets, scores and contributions', async () => {
    const months = await satisfactionIndex(sql(), await getLoyaltySettings(db), 3, NOW);
    expect(months.map((m) => [m.start.toISOString().slice(0, 10), m.end.toISOString().slice(0, 10), m.index])).toEqual([
      ['2026-04-01', '2026-05-01', 36.5],
      ['2026-05-01', '2026-06-01', 89.3],
      ['2026-06-01', '2026-06-15', 84.7],
    ]);
    const figures = (i: number) =>
      Object.fromEntries((months[i]?.indicators ?? []).map((f) => [f.indicator, [f.value, f.target, f.score, f.contribution]]));
    expect(figures(0)).toEqual({
      satisfaction: [0, 0.5, 0, 0],
      reputation: [null, 0.8, null, 0],
      repurchase: [0.5, 0.3, 100, 23.5],
      complaints: [0.5, 0.05, 10, 1.8],
      ticketSize: [150, 76.67, 100, 5.9],
      priceSensitivity: [0.5, 0.3, 60, 3.5],
      leaving: [0.5, 0.05, 10, 1.8],
    });
    expect(figures(1)).toEqual({
      satisfaction: [0.6667, 0.5, 100, 25],
      reputation: [0.3333, 0.8, 42, 6.3],
      repurchase: [1, 0.3, 100, 20],
      complaints: [0, 0.05, 100, 15],
      ticketSize: [210, 106, 100, 5],
      priceSensitivity: [0.5, 0.3, 60, 3],
      leaving: [0, 0.05, 100, 15],
    });
    expect(figures(2)).toMatchObject({
      ticketSize: [87.5, 135.71, 64, 3.2],
      complaints: [0.5, 0.05, 10, 1.5],
      reputation: [1, 0.8, 100, 15],
    });
    expect(months[2]?.facts).toMatchObject({ answers: 2, verySatisfied: 1, buyers: 2, repeatBuyers: 1, activeAtStart: 3, left: 0 });
  });

  it('takes the shop’s targets and weights (validated)', async () => {
    await updateLoyaltySettings(db, { satisfaction: { targets: { ticketSize: 100 } } });
    const [june] = (await satisfactionIndex(sql(), await getLoyaltySettings(db), 1, NOW)).slice(-1);
    // Ticket size 87.5 / 100 -> 88: (8470 − 320 + 440) / 100.
    expect(june?.index).toBe(85.9);
    await expect(updateLoyaltySettings(db, { satisfaction: { targets: { repurchase: 1.5 } } })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      inputPath: ['input', 'satisfaction', 'targets', 'repurchase'],
    });
    await updateLoyaltySettings(db, { satisfaction: null });
    expect((await getLoyaltySettings(db)).satisfaction.targets.ticketSize).toBeNull();
  });

  it('refuses a month count outside 1-36', () => {
    expect(() => monthWindows(NOW, 0)).toThrow(/1 to 36/);
    expect(() => monthWindows(NOW, 37)).toThrow(/1 to 36/);
  });
});

describe("months in the shop's time zone", () => {
  it('buckets each fact by its calendar month where the shop is', async () => {
    const shop = await tdb.prisma.shop.create({ data: { name: 'Z', slug: 'satisfaction-zones' } });
    const zdb = forShop(tdb.prisma, shop.id);
    const c = await customers.createCustomer(zdb, actor, { email: 'z@s.test' });
    // May 31, 20:00 UTC is already June 1 (10:00) in Kiritimati (UTC+14).
    await recordInteraction(zdb, actor, {
      customerId: c.id,
      channel: 'WEB',
      direction: 'INBOUND',
      type: 'SURVEY_RESPONSE',
      surveyKind: 'CSAT',
      score: 5,
      occurredAt: new Date('2026-05-31T20:00:00Z'),
    } as never);
    const zsql = tenantSql(tdb.prisma, shop.id);
    const settings = await getLoyaltySettings(zdb);
    const answers = async (tz: string) => (await satisfactionIndex(zsql, settings, 2, NOW, tz)).map((m) => m.facts.answers);
    expect(await answers('UTC')).toEqual([1, 0]);
    expect(await answers('Pacific/Kiritimati')).toEqual([0, 1]);
    // Windows begin at local midnight: June 1 in Kiritimati is May 31, 10:00 UTC.
    expect(monthWindows(NOW, 2, 'Pacific/Kiritimati').map((w) => w.start.toISOString())).toEqual([
      '2026-04-30T10:00:00.000Z',
      '2026-05-31T10:00:00.000Z',
    ]);
    expect(monthWindows(NOW, 2).map((w) => w.start.toISOString())).toEqual(['2026-05-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z']);
  });
});

describe('loyalty indicator diagnosis', () => {
  it('gives averages, reach, distribution and the month-over-month trend', async () => {
    const diag = await indicatorDiagnosis(sql(), await getLoyaltySettings(db), 3, NOW);
    const by = Object.fromEntries(diag.map((x) => [x.indicator, x]));
    expect(by.surveysCompleted).toMatchObject({
      customers: 5,
      averageValue: 1.4,
      averageScore: 46.6,
      reach: 0.8,
      distribution: [1, 2, 0, 1, 1],
      change: 1,
      trend: 'UP',
    });
    expect(by.surveysCompleted?.months.map((m) => [m.facts, m.customers])).toEqual([
      [2, 1],
      [3, 3],
      [2, 2],
    ]);
    expect(by.qaParticipation).toMatchObject({
      averageScore: 8,
      averageValue: 0.4,
      reach: 0.2,
      distribution: [4, 0, 1, 0, 0],
      change: -2,
      trend: 'DOWN',
    });
    expect(by.positiveWordOfMouth).toMatchObject({ averageScore: 13.2, distribution: [3, 2, 0, 0, 0], trend: 'UP' });
    expect(by.addOnPurchases).toMatchObject({ averageScore: 0, trend: 'FLAT', change: 0 });
    expect(weakest(diag, 3).map((x) => x.indicator)).toEqual(['referralsBought', 'addOnPurchases', 'eventParticipation']);
    expect(() => weakest(diag, 8)).toThrow(/1 to 7/);
  });

  it('has a playbook entry per indicator whose audience rule is a valid segment rule', async () => {
    for (const [k, p] of Object.entries(PLAYBOOK)) {
      expect(p.action, k).toMatch(/^[A-Z_]+$/);
      const r = await previewSegment({ sql: sql() }, parseRule(p.audienceRule), { first: 0, now: NOW });
      expect(r.count, k).toBeGreaterThanOrEqual(0);
    }
    // Survey follow-ups: buyers without an answer in the last 180 days = d only.
    const r = await previewSegment({ sql: sql() }, parseRule(PLAYBOOK.surveysCompleted.audienceRule), { first: 10, now: NOW });
    expect(r.memberIds).toEqual([ids.d]);
  });
});
