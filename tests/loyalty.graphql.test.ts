import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Caller, createTestApp, rawId, type TestApp } from '../packages/server/src/testing.ts';
import { createCustomer, createStaff, errorCodes, ok, type StaffOut } from './helpers/crm.ts';

/**
 * Loyalty over GraphQL: the explainable score with evidence (batched: a constant number of SQL
 * statements for a list), points earned from orders and actions, redemptions under concurrency,
 * tiers and their events, KPIs on a hand-computed fixture, settings validation and permissions.
 */

let t: TestApp;
let g: Caller;
let shopId: string;
let agent: StaffOut;
const ERR = '... on Error { code message path } ... on ValidationError { issues { path message } }';
const DAY = 86_400_000;

type Payload = {
  __typename: string;
  code?: string;
  balance?: number;
  tier?: string | null;
  replayed?: boolean;
  movement?: { kind: string; points: number; balanceAfter: number };
};
const POINTS_SEL = `__typename ${ERR} ... on InsufficientPointsError { balance } ... on PointsMovementPayload { balance tier replayed movement { kind points balanceAfter } }`;
async function points(field: string, inputType: string, input: unknown): Promise<Payload> {
  const r = await g<Record<string, Payload>>(`mutation($input: ${inputType}) { ${field}(input: $input) { ${POINTS_SEL} } }`, { input });
  if (r.errors?.length) throw new Error(JSON.stringify(r.errors));
  return r.data?.[field] as Payload;
}
const redeem = (customerId: string, n: number, key: string) =>
  points('redeemPoints', 'RedeemPointsInput!', { customerId, points: n, idempotencyKey: key });
const adjust = (customerId: string, n: number, key: string, reason = 'goodwill') =>
  points('adjustPoints', 'AdjustPointsInput!', { customerId, points: n, reason, idempotencyKey: key });

async function order(
  customerId: string,
  externalId: string,
  total: string,
  opts: { addOn?: boolean; status?: string; placedAt?: string } = {},
) {
  const items = [{ name: 'Sofa', quantity: 1, unitPrice: total }];
  if (opts.addOn) items.push({ name: 'Care kit', quantity: 1, unitPrice: '0.00', addOn: true } as never);
  const r = await ok<{ upsertOrder: { __typename: string } }>(
    g,
    `mutation($input: UpsertOrderInput!) { upsertOrder(input: $input) { __typename ${ERR} } }`,
    { input: { customerId, externalId, currency: 'EUR', status: opts.status ?? 'PAID', placedAt: opts.placedAt, items } },
  );
  expect(r.upsertOrder.__typename).toBe('UpsertOrderPayload');
}
async function interaction(customerId: string, type: string, extra: Record<string, unknown> = {}) {
  const r = await ok<{ recordInteraction: { __typename: string; interaction?: { id: string } } }>(
    g,
    `mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) { __typename ${ERR} ... on RecordInteractionSuccess { interaction { id } } } }`,
    { input: { customerId, channel: 'WEB', direction: 'INBOUND', type, ...extra } },
  );
  return r.recordInteraction.interaction?.id as string;
}
const POINTS_Q = `query($id: ID!) { customer(id: $id) { points { balance lifetimeEarned tier { name benefits } nextTier { name minPoints }
  tierHistory { fromTier toTier } movements(first: 50) { totalCount edges { node { kind points balanceAfter reason orderId interactionId expiresAt } } } } } }`;
type PointsOut = {
  balance: number;
  lifetimeEarned: number;
  tier: { name: string } | null;
  nextTier: { name: string; minPoints: number } | null;
  tierHistory: { fromTier: string | null; toTier: string | null }[];
  movements: {
    totalCount: number;
    edges: {
      node: { kind: string; points: number; balanceAfter: number; reason: string | null; orderId: string | null; expiresAt: string | null };
    }[];
  };
};
const pointsOf = async (id: string) => (await ok<{ customer: { points: PointsOut } }>(g, POINTS_Q, { id })).customer.points;

beforeAll(async () => {
  t = await createTestApp();
  const s = await t.newShop('Loyalty Shop', 'owner@loyal.test');
  shopId = s.shop.id;
  g = t.gql(s.secretKey);
  agent = await createStaff(g, { name: 'Agent', email: 'agent@loyal.test', role: 'AGENT' });
});
afterAll(() => t.close());

describe('points and tiers', () => {
  it('orders earn points by the shop rate, a cancellation reverses them, actions and referrals earn too', async () => {
    const ref = await createCustomer(g, { email: 'ref@loyal.test' });
    const c = await createCustomer(g, { email: 'p1@loyal.test', source: { channel: 'REFERRAL', referrerCustomerId: ref.id } });
    await order(c.id, 'P-1', '120.50');
    await order(c.id, 'P-2', '40.00');
    const survey = await interaction(c.id, 'SURVEY_RESPONSE', { metadata: { completed: true } });
    await interaction(c.id, 'SURVEY_RESPONSE', { metadata: { completed: false } });
    let p = await pointsOf(c.id);
    // 120 + 40 (1 point per EUR, floored) + 20 for the completed survey; the incomplete one earns nothing.
    expect(p.balance).toBe(180);
    expect(p.movements.edges.map((e) => e.node.kind).sort()).toEqual(['EARN_ACTION', 'EARN_ORDER', 'EARN_ORDER']);
    expect(p.movements.edges.every((e) => e.node.expiresAt)).toBe(true);
    expect(p.tier?.name).toBe('Bronze');
    expect(p.nextTier).toEqual({ name: 'Silver', minPoints: 1000 });
    expect((await pointsOf(ref.id)).balance).toBe(100);
    expect(survey).toBeTruthy();
    // Cancelling P-2 reverses its 40 points (once, even if the order is synced again).
    await order(c.id, 'P-2', '40.00', { status: 'CANCELLED' });
    await order(c.id, 'P-2', '40.00', { status: 'CANCELLED' });
    p = await pointsOf(c.id);
    expect(p.balance).toBe(140);
    expect(p.movements.totalCount).toBe(4);
    // The referral bonus is paid once per referred customer.
    expect((await pointsOf(ref.id)).movements.totalCount).toBe(1);
    // An order's points follow what it counts for (docs/money.md): 120 -> 130 earns the 10 more.
    await order(c.id, 'P-1', '130.00');
    expect((await pointsOf(c.id)).balance).toBe(150);
  });

  it('redeem is idempotent, refuses overdrafts with InsufficientPointsError, and parallel redemptions never overdraw', async () => {
    const c = await createCustomer(g, { email: 'p2@loyal.test' });
    expect((await adjust(c.id, 100, 'adj-1')).balance).toBe(100);
    const first = await redeem(c.id, 30, 'r-1');
    expect(first).toMatchObject({
      __typename: 'PointsMovementPayload',
      balance: 70,
      replayed: false,
      movement: { kind: 'REDEEM', points: -30, balanceAfter: 70 },
    });
    expect(await redeem(c.id, 30, 'r-1')).toMatchObject({ balance: 70, replayed: true });
    expect(await redeem(c.id, 999, 'r-2')).toMatchObject({
      __typename: 'InsufficientPointsError',
      code: 'INSUFFICIENT_POINTS',
      balance: 70,
    });
    // 10 parallel redemptions of 20 from 70: exactly 3 succeed.
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => redeem(c.id, 20, `par-${i}`)));
    expect(results.filter((r) => r.__typename === 'PointsMovementPayload')).toHaveLength(3);
    expect(results.filter((r) => r.__typename === 'InsufficientPointsError')).toHaveLength(7);
    const p = await pointsOf(c.id);
    expect(p.balance).toBe(10);
    const ledger = p.movements.edges.map((e) => e.node);
    expect(ledger.reduce((a, m) => a + m.points, 0)).toBe(10);
    expect(ledger.every((m) => m.balanceAfter >= 0)).toBe(true);
    // Bad input: no reason for an adjustment, zero points.
    const bad = await points('adjustPoints', 'AdjustPointsInput!', { customerId: c.id, points: 0, reason: ' ', idempotencyKey: 'x' });
    expect(bad.__typename).toBe('ValidationError');
  });

  it('merging customers unites their points and ledgers', async () => {
    const a = await createCustomer(g, { email: 'm1@loyal.test' });
    const b = await createCustomer(g, { email: 'm2@loyal.test' });
    await adjust(a.id, 700, 'm-a');
    await adjust(b.id, 600, 'm-b');
    const r = await ok<{ mergeCustomers: { __typename: string } }>(
      g,
      'mutation($input: MergeCustomersInput!) { mergeCustomers(input: $input) { __typename } }',
      { input: { survivorId: a.id, duplicateId: b.id } },
    );
    expect(r.mergeCustomers.__typename).toBe('MergeCustomersSuccess');
    const p = await pointsOf(a.id);
    expect(p).toMatchObject({ balance: 1300, lifetimeEarned: 1300, tier: { name: 'Silver' } });
    expect(p.movements.totalCount).toBe(2);
    expect(await t.db.prisma.pointsAccount.count({ where: { customerId: rawId(b.id) } })).toBe(0);
  });

  it('tier changes are recorded and emitted (TIER_CHANGED)', async () => {
    const c = await createCustomer(g, { email: 'p3@loyal.test' });
    await adjust(c.id, 1200, 'tier-1');
    let p = await pointsOf(c.id);
    expect(p.tier?.name).toBe('Silver');
    expect(p.tierHistory).toEqual([{ fromTier: null, toTier: 'Silver' }]);
    await adjust(c.id, -300, 'tier-2', 'correction');
    p = await pointsOf(c.id);
    expect(p.tier?.name).toBe('Bronze');
    expect(p.tierHistory[0]).toEqual({ fromTier: 'Silver', toTier: 'Bronze' });
    const events = await t.db.prisma.event.findMany({
      where: { shopId, type: 'TIER_CHANGED', customerId: rawId(c.id) },
      orderBy: { id: 'asc' },
    });
    expect(events.map((e) => (e.payload as { to: string }).to)).toEqual(['Silver', 'Bronze']);
    // Redemptions do not lower the tier.
    await redeem(c.id, 800, 'tier-3');
    expect((await pointsOf(c.id)).tier?.name).toBe('Bronze');
  });

  it('expires earned points past their date, soonest first', async () => {
    const c = await createCustomer(g, { email: 'p4@loyal.test' });
    await order(c.id, 'EXP-1', '50.00', { placedAt: new Date(Date.now() - 400 * DAY).toISOString() });
    await adjust(c.id, 10, 'exp-adj');
    expect((await pointsOf(c.id)).balance).toBe(60);
    await redeem(c.id, 20, 'exp-r');
    const r = await ok<{ expirePoints: { customers: number; points: number } }>(
      g,
      `mutation { expirePoints { ... on ExpirePointsPayload { customers points } } }`,
    );
    // 50 earned 400 days ago expired after 365; 20 of them were spent: 30 expire; the 10 adjusted remain.
    expect(r.expirePoints.points).toBe(30);
    expect((await pointsOf(c.id)).balance).toBe(10);
    const again = await ok<{ expirePoints: { points: number } }>(g, `mutation { expirePoints { ... on ExpirePointsPayload { points } } }`);
    expect(again.expirePoints.points).toBe(0);
  });
});

describe('explainable loyalty', () => {
  it('shows score, indicators with evidence, RFM and churn; evidence for a list costs a constant number of statements', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await createCustomer(g, { email: `l${i}@loyal.test`, tags: ['loyal-list'] });
      ids.push(c.id);
      await order(c.id, `L-${i}`, '100.00', { addOn: true });
      await interaction(c.id, 'QA_PARTICIPATION');
      await interaction(c.id, 'REVIEW', { sentiment: 'POSITIVE' });
    }
    const r = await ok<{ recomputeLoyalty: { customers: number } }>(
      g,
      'mutation { recomputeLoyalty { ... on RecomputeLoyaltyPayload { customers durationMs } } }',
    );
    expect(r.recomputeLoyalty.customers).toBeGreaterThanOrEqual(4);
    const q = `query { customers(first: 10, filter: { tagsAny: ["loyal-list"] }) { edges { node { id loyalty {
      score churnRisk churnReasons rfm { frequency code } averageOrderValue addOnRatio
      indicators { name value score target weight evidence { kind id detail } } } } } } }`;
    type L = {
      id: string;
      loyalty: {
        score: number;
        rfm: { frequency: number; code: string };
        addOnRatio: number;
        indicators: { name: string; value: number; score: number; evidence: { kind: string; id: string }[] }[];
      };
    };
    const data = await ok<{ customers: { edges: { node: L }[] } }>(g, q);
    const nodes = data.customers.edges.map((e) => e.node);
    expect(nodes).toHaveLength(4);
    const one = nodes[0] as L;
    const byName = Object.fromEntries(one.loyalty.indicators.map((i) => [i.name, i]));
    expect(Object.keys(byName)).toEqual([
      'ADD_ON_PURCHASES',
      'QA_PARTICIPATION',
      'POSITIVE_WORD_OF_MOUTH',
      'EVENT_PARTICIPATION',
      'REFERRALS_BOUGHT',
      'SUGGESTIONS',
      'SURVEYS_COMPLETED',
    ]);
    // 1 of target 3 -> 33; 1 of 5 -> 20; 1 of 3 -> 33: (15·33 + 10·20 + 20·33) / 100 = 13.55 -> 14.
    expect(byName.ADD_ON_PURCHASES).toMatchObject({ value: 1, score: 33 });
    expect(byName.QA_PARTICIPATION).toMatchObject({ value: 1, score: 20 });
    expect(byName.POSITIVE_WORD_OF_MOUTH?.evidence).toEqual([expect.objectContaining({ kind: 'Interaction' })]);
    expect(byName.ADD_ON_PURCHASES?.evidence[0]?.kind).toBe('Order');
    expect(one.loyalty.score).toBe(14);
    expect(one.loyalty.addOnRatio).toBe(1);

    // Count SQL statements: the list with evidence must not grow with the number of customers.
    const count = async (first: number) => {
      const lq = q.replace('first: 10', `first: ${first}`);
      await ok(g, lq);
      t.db.resetQueryCount();
      await ok(g, lq);
      return t.db.queryCount();
    };
    expect(await count(4)).toBe(await count(1));
  });

  it('loyalty settings: read defaults, validated updates, managers only', async () => {
    const s = await ok<{
      loyaltySettings: { weights: { referralsBought: number }; tiers: { name: string }[]; churn: { highFactor: number } };
    }>(g, '{ loyaltySettings { weights { referralsBought } tiers { name } churn { highFactor } } }');
    expect(s.loyaltySettings).toMatchObject({ weights: { referralsBought: 20 }, churn: { highFactor: 2.5 } });
    const upd = (input: unknown, headers?: Record<string, string>) =>
      g<{ updateLoyaltySettings: { __typename: string; code?: string; issues?: { path: string[] }[]; tiers?: { name: string }[] } }>(
        `mutation($input: UpdateLoyaltySettingsInput!) { updateLoyaltySettings(input: $input) { __typename ${ERR} ... on LoyaltySettings { tiers { name minPoints benefits } points { perCurrencyUnit actions { type points } } } } }`,
        { input },
        headers,
      );
    const bad = await upd({ churn: { mediumFactor: 3, highFactor: 2 } });
    expect(bad.data?.updateLoyaltySettings.issues?.[0]?.path).toEqual(['input', 'churn', 'highFactor']);
    const forbidden = await upd({ predictionHorizonDays: 100 }, { 'x-crm-staff-id': agent.id });
    expect(forbidden.data?.updateLoyaltySettings.code).toBe('FORBIDDEN');
    const good = await upd({
      tiers: [
        { name: 'Member', minPoints: 0 },
        { name: 'VIP', minPoints: 500, benefits: 'Gifts' },
      ],
      points: { actions: [{ type: 'REVIEW', points: 5 }] },
    });
    expect(good.data?.updateLoyaltySettings.tiers?.map((x) => x.name)).toEqual(['Member', 'VIP']);
    await upd({ tiers: null, points: null });
  });

  it('needs customers:read for KPIs and loyalty', async () => {
    const r = await t.gql(null)('{ shopKpis(from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { orders } }');
    expect(errorCodes(r)).toEqual(['UNAUTHENTICATED']);
    const bad = await g('{ shopKpis(from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z") { orders } }');
    expect(errorCodes(bad)).toEqual(['VALIDATION_FAILED']);
  });
});

describe('shop KPIs', () => {
  it('computes every KPI on a hand-computed fixture in a fresh shop', async () => {
    const s = await t.newShop('KPI Shop');
    const k = t.gql(s.secretKey);
    const mk = async (email: string, channel: string | null) =>
      (
        await ok<{ createCustomer: { customer: { id: string } } }>(
          k,
          'mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { ... on CreateCustomerSuccess { customer { id } } } }',
          { input: { email, ...(channel ? { source: { channel } } : {}) } },
        )
      ).createCustomer.customer.id;
    const ord = (customerId: string, externalId: string, total: string, placedAt: string, status = 'PAID') =>
      ok(k, 'mutation($input: UpsertOrderInput!) { upsertOrder(input: $input) { __typename } }', {
        input: { customerId, externalId, currency: 'EUR', status, placedAt, items: [{ name: 'x', quantity: 1, unitPrice: total }] },
      });
    const a = await mk('a@kpi.test', 'PAID_SEARCH');
    const b = await mk('b@kpi.test', 'PAID_SEARCH');
    const c = await mk('c@kpi.test', 'SOCIAL');
    await mk('d@kpi.test', null);
    const now = Date.now();
    const ago = (days: number) => new Date(now - days * DAY).toISOString();
    await ord(a, 'K1', '100.00', ago(60)); // before the range: a is in the churn base
    await ord(a, 'K2', '50.00', ago(5)); // a repeats in the range
    await ord(b, 'K3', '30.00', ago(4));
    await ord(c, 'K4', '70.00', ago(50)); // c bought before the range and not in it: churned
    await ord(b, 'K5', '999.00', ago(3), 'CANCELLED');
    await ok(k, 'mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) { __typename } }', {
      input: { customerId: b, channel: 'PHONE', direction: 'INBOUND', type: 'COMPLAINT' },
    });
    const q = `query($from: DateTime!, $to: DateTime!) { shopKpis(from: $from, to: $to) { orders revenue averageOrderValue buyers repeatBuyers
      repurchaseRate complaints complaintRate churnBase churned churnRate acquisition { channel leads conversions conversionRate }
      funnel { stage count reached conversionFromPrevious } loyaltyDistribution { from to count } churnRiskHigh } }`;
    const r = await ok<{ shopKpis: Record<string, unknown> }>(k, q, { from: ago(30), to: new Date(now + DAY).toISOString() });
    expect(r.shopKpis).toMatchObject({
      orders: 2,
      revenue: '80.00',
      averageOrderValue: '40.00',
      buyers: 2,
      repeatBuyers: 1,
      repurchaseRate: 0.5,
      complaints: 1,
      complaintRate: 0.5,
      churnBase: 2,
      churned: 1,
      churnRate: 0.5,
    });
    // All four were created in the range: PAID_SEARCH 2 leads, 2 converted; SOCIAL 1/1; no source 1/0.
    expect(r.shopKpis.acquisition).toEqual([
      { channel: 'PAID_SEARCH', leads: 2, conversions: 2, conversionRate: 1 },
      { channel: 'SOCIAL', leads: 1, conversions: 1, conversionRate: 1 },
      { channel: null, leads: 1, conversions: 0, conversionRate: 0 },
    ]);
    // Stages: a REPEAT, b and c FIRST_PURCHASE, d PROSPECT.
    const funnel = r.shopKpis.funnel as { stage: string; count: number; reached: number; conversionFromPrevious: number | null }[];
    expect(funnel.slice(0, 4)).toEqual([
      { stage: 'SUSPECT', count: 0, reached: 4, conversionFromPrevious: null },
      { stage: 'PROSPECT', count: 1, reached: 4, conversionFromPrevious: 1 },
      { stage: 'FIRST_PURCHASE', count: 2, reached: 3, conversionFromPrevious: 0.75 },
      { stage: 'REPEAT', count: 1, reached: 1, conversionFromPrevious: 1 / 3 },
    ]);
    // Every customer is scored (the refresh folded the orders in before the query).
    const dist = r.shopKpis.loyaltyDistribution as { count: number }[];
    expect(dist.reduce((x, y) => x + y.count, 0)).toBe(4);
  });
});
