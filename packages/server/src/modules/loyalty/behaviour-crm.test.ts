import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import type { BehaviourEventType } from '../../generated/prisma/enums.ts';
import { createTestApp, globalId, rawId, type TestApp } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { loadTimelineRows, type TimelineKind, timelinePage, type VisitRow } from '../interactions/timeline.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import { countMatching, pageMatching } from '../segments/segment.compile.ts';
import { parseRule, printRule, ruleToTree, treeToRule } from '../segments/segment.rule.ts';
import { emitAbandonedCheckouts } from './abandoned-checkout.ts';
import { recomputeLoyalty, shopKpis } from './loyalty.service.ts';
import { updateLoyaltySettings } from './loyalty.settings.ts';

/**
 * Storefront behaviour in the rest of the CRM (issue 19 part 4): segment fields, the visit
 * frequency churn input, visitor conversion KPIs, timeline visits and CHECKOUT_ABANDONED. Behaviour
 * rows are inserted directly (`track` below), not through the ingestion API.
 *
 * Hand-computed fixture, "now" = 2026-06-01T00:00Z, shop A:
 * - alice (created May 26): visitor VA. s0 Mar 1 PRODUCT_VIEWED SOFA-1; s1 May 25 PRODUCT_VIEWED
 *   SOFA-1 (utm Newsletter); s2 May 28 10:00 PRODUCT_VIEWED SOFA-1, 10:05 PRODUCT_VIEWED LAMP-2,
 *   10:10 PAGE_VIEWED, 11:50 ADDED_TO_CART LAMP-2, 12:00 CHECKOUT_STARTED. Order with SOFA-1 May 29.
 *   events.count(PRODUCT_VIEWED, SOFA-1, 30d) = 2; lastSeen May 28 12:00; sessions 3 (30d: 2);
 *   viewedNotBought(14d) = 1 (LAMP-2; SOFA-1 bought after the first view); 7 events.
 * - bob (created Jan 1): visitor VB. Apr 1 PAGE_VIEWED without session; s3 May 20 PRODUCT_VIEWED
 *   SOFA-1 (referrer www.google.com); s4 May 31 10:00 ADDED_TO_CART SOFA-1, 10:00 CHECKOUT_STARTED,
 *   11:00 CHECKOUT_STARTED (same attempt). No orders. count(SOFA-1, 30d) = 1; lastSeen(PRODUCT_VIEWED)
 *   May 20; sessions 3 (30d: 2); viewedNotBought(14d) = 1 (SOFA-1).
 * - carol: no events. erin (order May 1): six sessions Feb 10 - Apr 20, none since -> visits 0 vs a
 *   monthly average 2 -> churn MEDIUM. frank (order May 1): the same six plus s5 May 20 and a
 *   checkout May 31 22:00 (s6) -> 2 visits in 30 days, not below half of 2 -> LOW.
 * - anonymous visitors: V1 (google) May 10 five SOFA-1 views, V2 (utm newsletter) May 11, V3 May 12
 *   (no source), a checkout May 30: none count for a customer.
 * Shop B: dave with ten SOFA-1 views and a checkout: never in shop A's figures.
 */
let t: TestApp;
let A: { id: string; key: string };
let B: { id: string; key: string };
let dbA: ScopedDb;
let dbB: ScopedDb;
const NOW = new Date('2026-06-01T00:00:00Z');
const at = (s: string) => new Date(s.includes('T') ? `${s}Z` : `${s}T00:00:00Z`);
const ids: Record<string, string> = {};
const V: Record<string, string> = {};
const S: Record<string, string> = {};
const uuid = () => crypto.randomUUID();
const actor: customers.Actor = { staffId: null, source: 'api' };

type Ev = {
  visitor: string;
  session?: string | null;
  customer?: string | null;
  type: BehaviourEventType;
  at: string;
  sku?: string;
  url?: string;
  referrer?: string;
  utmSource?: string;
};

/** The fixture helper: behaviour rows straight into the table, in the given order (ids ascending). */
async function track(shopId: string, evs: Ev[]) {
  for (const e of evs) {
    await t.db.prisma
      .$executeRaw`INSERT INTO "BehaviourEvent" ("shopId", "visitorId", "sessionId", "customerId", type, "occurredAt", url, referrer, sku, "utmSource")
      VALUES (${shopId}::uuid, ${V[e.visitor] as string}::uuid, ${e.session === null ? null : (S[e.session ?? ''] ?? null)}::uuid,
        ${e.customer ? (ids[e.customer] as string) : null}::uuid, ${e.type}::"BehaviourEventType", ${at(e.at)}::timestamptz,
        ${e.url ?? null}, ${e.referrer ?? null}, ${e.sku ?? null}, ${e.utmSource ?? null})`;
  }
}

let orderN = 0;
async function order(db: ScopedDb, customer: string, placedAt: string, sku: string) {
  await upsertOrder(db, actor, {
    externalId: `o-${++orderN}`,
    customerId: ids[customer] as string,
    currency: 'EUR',
    placedAt: at(placedAt),
    status: 'PAID',
    items: [{ name: sku, sku, quantity: 1, unitPrice: '100' }],
  } as never);
}

beforeAll(async () => {
  t = await createTestApp();
  const a = await t.newShop();
  const b = await t.newShop();
  A = { id: a.shop.id, key: a.secretKey };
  B = { id: b.shop.id, key: b.secretKey };
  dbA = forShop(t.db.prisma, A.id);
  dbB = forShop(t.db.prisma, B.id);
  for (const n of ['alice', 'bob', 'carol', 'erin', 'frank'])
    ids[n] = (await customers.createCustomer(dbA, actor, { email: `${n}@b.test` })).id;
  ids.dave = (await customers.createCustomer(dbB, actor, { email: 'dave@b.test' })).id;
  const created: Record<string, string> = {
    alice: '2026-05-26',
    bob: '2026-01-01',
    carol: '2026-01-01',
    erin: '2026-01-01',
    frank: '2026-01-01',
    dave: '2026-01-01',
  };
  for (const [n, d] of Object.entries(created))
    await t.db.prisma.customer.update({ where: { id: ids[n] as string }, data: { createdAt: at(d) } });
  for (const v of ['VA', 'VB', 'VE', 'VF', 'V1', 'V2', 'V3', 'VD']) V[v] = uuid();
  for (const s of [
    's0',
    's1',
    's2',
    's3',
    's4',
    's5',
    's6',
    'e1',
    'e2',
    'e3',
    'e4',
    'e5',
    'e6',
    'f1',
    'f2',
    'f3',
    'f4',
    'f5',
    'f6',
    'a1',
    'a2',
    'a3',
    'd1',
  ])
    S[s] = uuid();
  await order(dbA, 'alice', '2026-05-29', 'SOFA-1');
  await order(dbA, 'erin', '2026-05-01', 'CHAIR-3');
  await order(dbA, 'frank', '2026-05-01', 'CHAIR-3');
  const older = ['02-10', '02-20', '03-10', '03-20', '04-10', '04-20'];
  await track(A.id, [
    { visitor: 'VA', session: 's0', customer: 'alice', type: 'PRODUCT_VIEWED', at: '2026-03-01', sku: 'SOFA-1' },
    { visitor: 'VA', session: 's1', customer: 'alice', type: 'PRODUCT_VIEWED', at: '2026-05-25', sku: 'SOFA-1', utmSource: 'Newsletter' },
    {
      visitor: 'VA',
      session: 's2',
      customer: 'alice',
      type: 'PRODUCT_VIEWED',
      at: '2026-05-28T10:00:00',
      sku: 'SOFA-1',
      url: 'https://shop.test/sofa',
    },
    {
      visitor: 'VA',
      session: 's2',
      customer: 'alice',
      type: 'PRODUCT_VIEWED',
      at: '2026-05-28T10:05:00',
      sku: 'LAMP-2',
      url: 'https://shop.test/lamp',
    },
    { visitor: 'VA', session: 's2', customer: 'alice', type: 'PAGE_VIEWED', at: '2026-05-28T10:10:00', url: 'https://shop.test/' },
    { visitor: 'VA', session: 's2', customer: 'alice', type: 'ADDED_TO_CART', at: '2026-05-28T11:50:00', sku: 'LAMP-2' },
    { visitor: 'VB', session: null, customer: 'bob', type: 'PAGE_VIEWED', at: '2026-04-01' },
    {
      visitor: 'VB',
      session: 's3',
      customer: 'bob',
      type: 'PRODUCT_VIEWED',
      at: '2026-05-20',
      sku: 'SOFA-1',
      referrer: 'https://www.google.com/search?q=sofa',
    },
    { visitor: 'VB', session: 's4', customer: 'bob', type: 'ADDED_TO_CART', at: '2026-05-31T10:00:00', sku: 'SOFA-1' },
    ...older.map((d, i): Ev => ({ visitor: 'VE', session: `e${i + 1}`, customer: 'erin', type: 'PAGE_VIEWED', at: `2026-${d}` })),
    ...older.map((d, i): Ev => ({ visitor: 'VF', session: `f${i + 1}`, customer: 'frank', type: 'PAGE_VIEWED', at: `2026-${d}` })),
    { visitor: 'VF', session: 's5', customer: 'frank', type: 'PAGE_VIEWED', at: '2026-05-20' },
    ...[1, 2, 3, 4, 5].map(
      (): Ev => ({
        visitor: 'V1',
        session: 'a1',
        type: 'PRODUCT_VIEWED',
        at: '2026-05-10',
        sku: 'SOFA-1',
        referrer: 'https://www.google.com/',
      }),
    ),
    { visitor: 'V2', session: 'a2', type: 'PAGE_VIEWED', at: '2026-05-11', utmSource: 'newsletter' },
    { visitor: 'V3', session: 'a3', type: 'PAGE_VIEWED', at: '2026-05-12' },
  ]);
  // Checkouts, in time order (the abandoned checkout pass walks them by id).
  await track(A.id, [
    { visitor: 'VA', session: 's2', customer: 'alice', type: 'CHECKOUT_STARTED', at: '2026-05-28T12:00:00' },
    { visitor: 'V3', session: 'a3', type: 'CHECKOUT_STARTED', at: '2026-05-30' },
    { visitor: 'VB', session: 's4', customer: 'bob', type: 'CHECKOUT_STARTED', at: '2026-05-31T10:00:00' },
    { visitor: 'VB', session: 's4', customer: 'bob', type: 'CHECKOUT_STARTED', at: '2026-05-31T11:00:00' },
    { visitor: 'VF', session: 's6', customer: 'frank', type: 'CHECKOUT_STARTED', at: '2026-05-31T22:00:00' },
  ]);
  await track(B.id, [
    ...Array.from(
      { length: 10 },
      (): Ev => ({
        visitor: 'VD',
        session: 'd1',
        customer: 'dave',
        type: 'PRODUCT_VIEWED',
        at: '2026-05-20',
        sku: 'SOFA-1',
        utmSource: 'newsletter',
      }),
    ),
    { visitor: 'VD', session: 'd1', customer: 'dave', type: 'CHECKOUT_STARTED', at: '2026-05-30' },
  ]);
});
afterAll(() => t?.close());

const members = async (shopId: string, rule: string) => {
  const r = parseRule(rule);
  const sql = tenantSql(t.db.prisma, shopId);
  const page = await pageMatching(sql, r, NOW, { first: 50 });
  const names = page.keys.map((k) => Object.keys(ids).find((n) => ids[n] === k.id) ?? k.id).sort();
  expect(await countMatching(sql, r, NOW)).toBe(names.length);
  return names;
};

describe('segment rule language: behaviour fields', () => {
  it('events.count with type, sku and window', async () => {
    expect(await members(A.id, "events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1', within = 30d) >= 2")).toEqual(['alice']);
    expect(await members(A.id, "events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1', within = 30d) >= 1")).toEqual(['alice', 'bob']);
    expect(await members(A.id, "events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1') = 3")).toEqual(['alice']);
    expect(await members(A.id, 'events.count = 7')).toEqual(['alice']);
    expect(await members(A.id, 'events.count = 0')).toEqual(['carol']);
    expect(await members(A.id, 'events.count(type = CHECKOUT_STARTED, within = 7d) >= 2')).toEqual(['bob']);
  });

  it('events.lastSeen compares like a date field', async () => {
    expect(await members(A.id, 'events.lastSeen < -10d')).toEqual(['erin']);
    expect(await members(A.id, 'events.lastSeen(type = PRODUCT_VIEWED) < -10d')).toEqual(['bob']);
    expect(await members(A.id, "events.lastSeen > '2026-05-28T11:00:00Z'")).toEqual(['alice', 'bob', 'frank']);
    expect(await members(A.id, 'events.lastSeen IS NULL')).toEqual(['carol']);
  });

  it('events.sessions counts distinct sessions (an event without one counts as a visit)', async () => {
    expect(await members(A.id, 'events.sessions(within = 30d) >= 2')).toEqual(['alice', 'bob', 'frank']);
    expect(await members(A.id, 'events.sessions = 3')).toEqual(['alice', 'bob']);
    expect(await members(A.id, 'events.sessions >= 6')).toEqual(['erin', 'frank']);
  });

  it('events.viewedNotBought: viewed SKUs without a counted order of them since the first view', async () => {
    expect(await members(A.id, 'events.viewedNotBought(within = 14d) >= 1')).toEqual(['alice', 'bob']);
    expect(await members(A.id, "events.viewedNotBought(sku = 'SOFA-1', within = 14d) >= 1")).toEqual(['bob']);
    expect(await members(A.id, "events.viewedNotBought(sku = 'LAMP-2') = 1")).toEqual(['alice']);
    expect(await members(A.id, 'events.viewedNotBought >= 2')).toEqual([]);
  });

  it('another shop’s events never count (tenant isolation)', async () => {
    expect(await members(B.id, "events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1', within = 30d) >= 1")).toEqual(['dave']);
    expect(await members(B.id, 'events.count >= 11')).toEqual(['dave']);
    expect(await members(A.id, 'events.count >= 10')).toEqual([]);
  });

  it('both faces: canonical text, tree round trip, argument validation and the aggregate cap', () => {
    const text = "events.count(type = PRODUCT_VIEWED, sku = 'X''1', within = 30d) >= 2 AND events.lastSeen < -7d";
    const r = parseRule("events.count(within = 30d, sku = 'X''1', type = PRODUCT_VIEWED) >= 2 and events.lastSeen < -7d");
    expect(printRule(r)).toBe(text);
    expect(printRule(treeToRule(ruleToTree(r)))).toBe(text);
    expect(ruleToTree(parseRule("events.viewedNotBought(sku = 'A', within = 14d) >= 1"))).toEqual({
      condition: {
        field: 'events.viewedNotBought',
        args: [
          { name: 'sku', value: 'A' },
          { name: 'within', value: '+14d' },
        ],
        op: 'GTE',
        value: 1,
      },
    });
    const bad = (rule: string) => {
      try {
        parseRule(rule);
      } catch (e) {
        return (e as { issues: { code: string }[] }).issues[0]?.code;
      }
      return 'ok';
    };
    expect(bad('events.count(sku = 5) > 1')).toBe('bad_value');
    expect(bad("events.count(sku = '') > 1")).toBe('bad_value');
    expect(bad('events.lastSeen(within = 30d) < -1d')).toBe('bad_argument');
    expect(bad('events.count(type = ORDERED) > 1')).toBe('bad_value');
    expect(bad('events.lastSeen = 3')).toBe('bad_operator');
    const nine = Array.from({ length: 9 }, (_, i) => `events.count(sku = 'S${i}') > 0`).join(' OR ');
    expect(bad(nine)).toBe('too_many_aggregates');
    // Fields sharing one subquery with the same arguments count once.
    expect(
      bad(`${Array.from({ length: 8 }, (_, i) => `events.count(sku = 'S${i}') > 0`).join(' OR ')} OR events.lastSeen(sku = 'S0') < -1d`),
    ).toBe('ok');
  });
});

describe('churn: falling visit frequency', () => {
  it('visits last 30 days vs the monthly average of the 90 days before, with its weight and reason', async () => {
    await recomputeLoyalty(shopBound(t.db.prisma, A.id), NOW);
    const m = async (n: string) => dbA.customerMetrics.findUniqueOrThrow({ where: { customerId: ids[n] as string } });
    expect(await m('erin')).toMatchObject({
      visitsLast30Days: 0,
      visitsPrevious90Days: 6,
      churnRisk: 'MEDIUM',
      churnReasons: ['storefront visits fell to 0 in the last 30 days from a monthly average of 2.0 in the 90 days before'],
    });
    expect(await m('frank')).toMatchObject({ visitsLast30Days: 2, visitsPrevious90Days: 6, churnRisk: 'LOW', churnReasons: [] });
    expect(await m('alice')).toMatchObject({ visitsLast30Days: 2, visitsPrevious90Days: 1, churnRisk: 'LOW' });
    expect(await m('bob')).toMatchObject({ visitsLast30Days: 2, visitsPrevious90Days: 1, churnRisk: 'LOW' });
    expect(await m('carol')).toMatchObject({ visitsLast30Days: 0, visitsPrevious90Days: 0 });
    await updateLoyaltySettings(dbA, { churn: { visitDropPoints: 0 } });
    await recomputeLoyalty(shopBound(t.db.prisma, A.id), NOW);
    expect(await m('erin')).toMatchObject({ churnRisk: 'LOW', churnReasons: [] });
    await updateLoyaltySettings(dbA, { churn: { visitDropPoints: 2 } });
    await recomputeLoyalty(shopBound(t.db.prisma, A.id), NOW);
    expect(await m('erin')).toMatchObject({ churnRisk: 'MEDIUM' });
    await updateLoyaltySettings(dbA, { churn: { visitDropPoints: null } });
    await recomputeLoyalty(shopBound(t.db.prisma, A.id), NOW);
  });

  it('is exposed on the customer’s loyalty (folded at the current time)', async () => {
    // gina (shop B): one visit in the last 30 days, three in the 90 before -> 1 vs a monthly average of 1.
    ids.gina = (await customers.createCustomer(dbB, actor, { email: 'gina@b.test' })).id;
    V.VG = uuid();
    const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 19);
    for (const [n, d] of [5, 40, 60, 100].entries()) {
      S[`g${n}`] = uuid();
      await track(B.id, [{ visitor: 'VG', session: `g${n}`, customer: 'gina', type: 'PAGE_VIEWED', at: daysAgo(d) }]);
    }
    const r = await t.gql(B.key)<{ customer: { loyalty: { visitsLast30Days: number; visitsMonthlyAverage: number } } }>(
      'query($id: ID!) { customer(id: $id) { loyalty { visitsLast30Days visitsMonthlyAverage } } }',
      { id: globalId('Customer', ids.gina as string) },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data?.customer.loyalty).toEqual({ visitsLast30Days: 1, visitsMonthlyAverage: 1 });
  });
});

describe('KPIs: visitor-to-lead conversion by source', () => {
  const expected = [
    { source: 'google.com', visitors: 2, leads: 0, buyers: 0 },
    { source: 'newsletter', visitors: 2, leads: 1, buyers: 1 },
    { source: null, visitors: 2, leads: 0, buyers: 0 },
  ];
  it('counts visitors by the source of their first event in the range, and those who became leads / buyers', async () => {
    const k = await shopKpis(tenantSql(t.db.prisma, A.id), at('2026-05-01'), NOW);
    expect(k.visitorSources).toEqual(expected);
    // Shop B sees only its own visitor.
    const kb = await shopKpis(tenantSql(t.db.prisma, B.id), at('2026-05-01'), NOW);
    expect(kb.visitorSources).toEqual([{ source: 'newsletter', visitors: 1, leads: 0, buyers: 0 }]);
    // Before alice's first visit in range: her visitor's first event (Mar 1) has no source.
    const march = await shopKpis(tenantSql(t.db.prisma, A.id), at('2026-03-01'), at('2026-03-02'));
    expect(march.visitorSources).toEqual([{ source: null, visitors: 1, leads: 0, buyers: 0 }]);
  });

  it('is on shopKpis with rates', async () => {
    const r = await t.gql(A.key)<{ shopKpis: { visitorConversion: Record<string, unknown>[] } }>(
      'query { shopKpis(from: "2026-05-01T00:00:00Z", to: "2026-06-01T00:00:00Z") { visitorConversion { source visitors leads buyers leadRate buyerRate } } }',
    );
    expect(r.errors).toBeUndefined();
    expect(r.data?.shopKpis.visitorConversion).toEqual(
      expected.map((e) => ({ ...e, leadRate: e.leads / e.visitors, buyerRate: e.buyers / e.visitors })),
    );
  });
});

describe('timeline: one entry per visit', () => {
  it('lists the customer’s sessions at their first event, pages with the cursor, and loads counts', async () => {
    const sql = tenantSql(t.db.prisma, A.id);
    const visits = await timelinePage(sql, ids.alice as string, { first: 10, kinds: ['visit'] as TimelineKind[] });
    expect(visits.entries.map((e) => [e.id, e.at.toISOString()])).toEqual([
      [S.s2, '2026-05-28T10:00:00.000Z'],
      [S.s1, '2026-05-25T00:00:00.000Z'],
      [S.s0, '2026-03-01T00:00:00.000Z'],
    ]);
    const rows = await loadTimelineRows(dbA, visits.entries, { sql, customerId: ids.alice as string });
    expect(rows[0]?.row).toMatchObject({
      id: S.s2,
      events: 5,
      pageViews: 1,
      productViews: 2,
      addedToCart: 1,
      checkoutsStarted: 1,
      searches: 0,
      skus: ['LAMP-2', 'SOFA-1'],
      landingUrl: 'https://shop.test/sofa',
      endedAt: at('2026-05-28T12:00:00'),
    } satisfies Partial<VisitRow>);
    // Mixed with the other kinds in time order: the order of May 29 before the visit of May 28.
    const all = await timelinePage(sql, ids.alice as string, { first: 2, kinds: ['order', 'visit'] as TimelineKind[] });
    expect(all.entries.map((e) => e.kind)).toEqual(['order', 'visit']);
    const next = await timelinePage(sql, ids.alice as string, {
      first: 1,
      after: encode(all.entries[1]),
      kinds: ['visit'] as TimelineKind[],
    });
    expect(next.entries.map((e) => e.id)).toEqual([S.s1]);
    // bob's event without a session is its own visit (keyed by the visitor id).
    const bob = await timelinePage(sql, ids.bob as string, { first: 10, kinds: ['visit'] as TimelineKind[] });
    expect(bob.entries.map((e) => e.id)).toEqual([S.s4, S.s3, V.VB]);
    // Another shop sees nothing of alice.
    expect((await timelinePage(tenantSql(t.db.prisma, B.id), ids.alice as string, { first: 10 })).entries).toEqual([]);
  });

  it('resolves StorefrontVisit in the GraphQL timeline', async () => {
    const r = await t.gql(A.key)<{ customer: { timeline: { edges: { kind: string; node: Record<string, unknown> }[] } } }>(
      `query($id: ID!) { customer(id: $id) { timeline(first: 1, kinds: [VISIT]) { edges { kind at node {
        ... on StorefrontVisit { sessionId events productViews checkoutsStarted skus startedAt endedAt utmSource } } } } } }`,
      { id: globalId('Customer', ids.alice as string) },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data?.customer.timeline.edges).toEqual([
      {
        kind: 'VISIT',
        at: '2026-05-28T10:00:00.000Z',
        node: {
          sessionId: S.s2,
          events: 5,
          productViews: 2,
          checkoutsStarted: 1,
          skus: ['LAMP-2', 'SOFA-1'],
          startedAt: '2026-05-28T10:00:00.000Z',
          endedAt: '2026-05-28T12:00:00.000Z',
          utmSource: null,
        },
      },
    ]);
  });
});

function encode(e: { at: Date; kind: string; id: string } | undefined) {
  const x = e as { at: Date; kind: string; id: string };
  return Buffer.from(JSON.stringify([x.at.toISOString(), x.kind, x.id])).toString('base64url');
}

describe('CHECKOUT_ABANDONED', () => {
  const abandoned = (shopId: string) =>
    t.db.prisma.event.findMany({ where: { shopId, type: 'CHECKOUT_ABANDONED' }, orderBy: { id: 'asc' } });

  it('fires once per stitched checkout without an order within the hours, and never twice', async () => {
    const shopA = shopBound(t.db.prisma, A.id);
    // At "now": alice bought after her checkout, the anonymous one is skipped, bob's second start is
    // the same attempt, frank's (22:00) is not due before 02:00.
    expect(await emitAbandonedCheckouts(shopA, NOW)).toBe(1);
    expect(await emitAbandonedCheckouts(shopA, NOW)).toBe(0);
    const [bob] = await abandoned(A.id);
    expect(bob?.customerId).toBe(ids.bob);
    expect(bob?.payload).toMatchObject({
      customerId: globalId('Customer', ids.bob as string),
      sessionId: S.s4,
      checkoutStartedAt: '2026-05-31T10:00:00.000Z',
      hours: 4,
      skus: ['SOFA-1'],
      consents: [],
    });
    // Three hours later frank's is due.
    const later = new Date(NOW.getTime() + 3 * 3_600_000);
    expect(await emitAbandonedCheckouts(shopA, later)).toBe(1);
    expect(await emitAbandonedCheckouts(shopA, later)).toBe(0);
    expect((await abandoned(A.id)).map((e) => rawId(String((e.payload as { customerId: string }).customerId)))).toEqual([
      ids.bob,
      ids.frank,
    ]);
    // Shop B decides its own checkout only.
    expect(await emitAbandonedCheckouts(shopBound(t.db.prisma, B.id), NOW)).toBe(1);
    expect((await abandoned(B.id)).map((e) => e.customerId)).toEqual([ids.dave]);
    expect(await abandoned(A.id)).toHaveLength(2);
  });

  it('honours the shop’s hours setting', async () => {
    await updateLoyaltySettings(dbB, { churn: { abandonedCheckoutHours: 48 } });
    await track(B.id, [{ visitor: 'VD', session: 'd1', customer: 'dave', type: 'CHECKOUT_STARTED', at: '2026-06-03' }]);
    const shopB = shopBound(t.db.prisma, B.id);
    // 24 hours later: abandoned under the default 4 hours, not yet due under 48.
    expect(await emitAbandonedCheckouts(shopB, at('2026-06-04'))).toBe(0);
    expect(await emitAbandonedCheckouts(shopB, at('2026-06-05T01:00:00'))).toBe(1);
    expect(await abandoned(B.id)).toHaveLength(2);
    expect((await abandoned(B.id))[1]?.payload).toMatchObject({ hours: 48, checkoutStartedAt: '2026-06-03T00:00:00.000Z' });
  });
});
