import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorefrontClient } from '../packages/sdk/src/storefront.ts';
import { shopBound } from '../packages/server/src/db/shop-bound.ts';
import { forShop, type ScopedDb } from '../packages/server/src/db/tenant.ts';
import { REFERRAL_ALPHABET } from '../packages/server/src/modules/customers/customer.referral.ts';
import { refreshLoyalty } from '../packages/server/src/modules/loyalty/loyalty.service.ts';
import { upsertOrder } from '../packages/server/src/modules/orders/order.service.ts';
import { parseRule } from '../packages/server/src/modules/segments/segment.rule.ts';
import { createSegment, refreshChanged } from '../packages/server/src/modules/segments/segment.service.ts';
import { type Caller, createTestApp, globalId, rawId, type TestApp } from '../packages/server/src/testing.ts';
import { createCustomer } from './helpers/crm.ts';

/**
 * Referral codes and links (docs/customers.md "Referral codes"). Hand-computed fixture, shop A:
 * - alice gets a code (8 characters from the 31-letter alphabet), the same on the second call;
 *   alice has one counted order (STRATEGIC needs an order of one's own).
 * - bob and carl arrive through the storefront with alice's code (carl's typed in lower case):
 *   both get alice as referrer, source channel REFERRAL. dan's code is unknown: dan has no
 *   referrer and the storefront's answer is the same as bob's. alice using her own code changes nothing.
 * - shop B's storefront carrying alice's code: eve (shop B) gets no referrer.
 * - bob and carl each place an order (100 EUR): after the loyalty fold alice has referralsBought 2
 *   (the referral indicator), 2 × 100 points (the default referralPurchase) with keys
 *   referral:<bob>, referral:<carl>, and stage STRATEGIC ("2 referred customers bought",
 *   default rule referredBuyers.count >= 2). bob's second order adds no referral points.
 */
let t: TestApp;
let A: { shopId: string; sk: Caller; pk: Caller; db: ScopedDb };
let B: { shopId: string; pk: Caller };
let aliceId: string;
let code: string;
let n = 0;

const CAPTURE = `mutation($input: CaptureLeadInput!) { captureLead(input: $input) { __typename
  ... on CaptureLeadPayload { accepted created customer { id } interaction { id } } ... on Error { code message } } }`;
const ISSUE = `mutation($id: ID!) { issueReferralCode(input: { id: $id }) { __typename
  ... on IssueReferralCodeSuccess { customer { id referralCode } } ... on Error { code message } } }`;

const byEmail = (db: ScopedDb, email: string) => db.customer.findFirstOrThrow({ where: { email } });
const order = (customerId: string) =>
  upsertOrder(A.db, { staffId: null, source: 'api' }, {
    externalId: `ref-o-${++n}`,
    customerId,
    currency: 'EUR',
    placedAt: new Date(Date.now() - 86_400_000),
    status: 'PAID',
    items: [{ name: 'Lamp', quantity: 1, unitPrice: '100' }],
  } as never);

beforeAll(async () => {
  t = await createTestApp();
  const a = await t.newShop('Referral shop A', 'owner@ref-a.test');
  const b = await t.newShop('Referral shop B', 'owner@ref-b.test');
  A = { shopId: a.shop.id, sk: t.gql(a.secretKey), pk: t.gql(a.publishableKey), db: forShop(t.db.prisma, a.shop.id) };
  B = { shopId: b.shop.id, pk: t.gql(b.publishableKey) };
  aliceId = rawId((await createCustomer(A.sk, { email: 'alice@ref.test', firstName: 'Alice' })).id);
  await order(aliceId);
}, 120_000);
afterAll(() => t?.close());

describe('referral codes', () => {
  it('are issued on demand, unguessable enough, and stable after', async () => {
    const before = await A.db.customer.findUniqueOrThrow({ where: { id: aliceId } });
    expect(before.referralCode).toBeNull();
    const r1 = await A.sk<{ issueReferralCode: { customer: { referralCode: string } } }>(ISSUE, { id: globalId('Customer', aliceId) });
    code = r1.data?.issueReferralCode.customer.referralCode as string;
    expect(code).toMatch(new RegExp(`^[${REFERRAL_ALPHABET}]{8}$`));
    const r2 = await A.sk<{ issueReferralCode: { customer: { referralCode: string } } }>(ISSUE, { id: globalId('Customer', aliceId) });
    expect(r2.data?.issueReferralCode.customer.referralCode).toBe(code);
    const unknown = await A.sk<{ issueReferralCode: { __typename: string } }>(ISSUE, {
      id: globalId('Customer', '00000000-0000-4000-8000-000000000000'),
    });
    expect(unknown.data?.issueReferralCode.__typename).toBe('NotFoundError');
  });

  it('a storefront lead carrying the code gets its owner as referrer; unknown codes are ignored, and answer the same', async () => {
    const bob = await A.pk<{ captureLead: unknown }>(CAPTURE, { input: { email: 'bob@ref.test', referralCode: code } });
    const carl = await A.pk<{ captureLead: unknown }>(CAPTURE, {
      input: { email: 'carl@ref.test', referralCode: ` ${code.toLowerCase()} ` },
    });
    const dan = await A.pk<{ captureLead: unknown }>(CAPTURE, { input: { email: 'dan@ref.test', referralCode: 'ZZZZZZZZ' } });
    const bad = await A.pk<{ captureLead: unknown }>(CAPTURE, { input: { email: 'dora@ref.test', referralCode: 'not a code!' } });
    const expected = { __typename: 'CaptureLeadPayload', accepted: true, created: null, customer: null, interaction: null };
    for (const r of [bob, carl, dan, bad]) expect(r.data?.captureLead).toEqual(expected);
    for (const email of ['bob@ref.test', 'carl@ref.test']) {
      expect(await byEmail(A.db, email)).toMatchObject({ sourceReferrerId: aliceId, sourceChannel: 'REFERRAL', stage: 'PROSPECT' });
    }
    const bobId = (await byEmail(A.db, 'bob@ref.test')).id;
    const lead = await A.db.event.findFirstOrThrow({ where: { type: 'LEAD_CAPTURED', customerId: bobId } });
    expect(lead.payload).toMatchObject({ origin: 'lead-form', sourceChannel: 'REFERRAL', referrerId: globalId('Customer', aliceId) });
    for (const email of ['dan@ref.test', 'dora@ref.test']) {
      expect(await byEmail(A.db, email)).toMatchObject({ sourceReferrerId: null, sourceChannel: null });
    }
    // The owner of the code using it refers nobody (not even themselves).
    await A.pk(CAPTURE, { input: { email: 'alice@ref.test', referralCode: code } });
    expect((await byEmail(A.db, 'alice@ref.test')).sourceReferrerId).toBeNull();
  });

  it('never crosses shops', async () => {
    const r = await B.pk<{ captureLead: unknown }>(CAPTURE, { input: { email: 'eve@ref.test', referralCode: code } });
    expect(r.data?.captureLead).toMatchObject({ accepted: true });
    const eve = await byEmail(forShop(t.db.prisma, B.shopId), 'eve@ref.test');
    expect(eve).toMatchObject({ sourceReferrerId: null, sourceChannel: null });
  });

  it('credits the referrer when referred customers buy: indicator, STRATEGIC and points, once', async () => {
    const bob = (await byEmail(A.db, 'bob@ref.test')).id;
    const carl = (await byEmail(A.db, 'carl@ref.test')).id;
    const shop = shopBound(t.db.prisma, A.shopId);
    const seg = await createSegment(shop, { name: 'Strategic referrers', rule: parseRule('referredBuyers.count >= 2') });
    expect(await A.db.segmentMember.count({ where: { segmentId: seg.id } })).toBe(0);
    await order(bob);
    await order(carl);
    // The incremental segment refresh follows the referred customers' orders (events naming bob and carl) to their referrer.
    await refreshChanged(shop);
    expect((await A.db.segmentMember.findMany({ where: { segmentId: seg.id } })).map((m) => m.customerId)).toEqual([aliceId]);
    await refreshLoyalty(shop);
    const m = await A.db.customerMetrics.findFirstOrThrow({ where: { customerId: aliceId } });
    expect(m.referralsBought).toBe(2);
    const referralPoints = () =>
      A.db.pointsMovement.findMany({ where: { customerId: aliceId, key: { startsWith: 'referral:' } }, orderBy: { key: 'asc' } });
    expect((await referralPoints()).map((p) => [p.key, p.points])).toEqual(
      [
        [`referral:${bob}`, 100],
        [`referral:${carl}`, 100],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    const alice = await A.db.customer.findUniqueOrThrow({ where: { id: aliceId } });
    expect(alice.stage).toBe('STRATEGIC');
    const move = await A.db.stageTransition.findFirstOrThrow({ where: { customerId: aliceId }, orderBy: [{ at: 'desc' }, { id: 'desc' }] });
    expect(move).toMatchObject({ toStage: 'STRATEGIC', source: 'AUTOMATIC', reason: '2 referred customers bought' });
    // bob buys again: no second referral credit.
    await order(bob);
    await refreshLoyalty(shopBound(t.db.prisma, A.shopId));
    expect(await referralPoints()).toHaveLength(2);
    expect((await A.db.customerMetrics.findFirstOrThrow({ where: { customerId: aliceId } })).referralsBought).toBe(2);
  });

  it('the signed-in customer gets the same code from issueMyReferralCode', async () => {
    const tok = await A.sk<{ createCustomerToken: { token: string } }>(
      'mutation($id: ID!) { createCustomerToken(input: { customerId: $id }) { ... on CustomerToken { token } } }',
      { id: globalId('Customer', aliceId) },
    );
    const r = await A.pk<{ issueMyReferralCode: { profile: { referralCode: string } } }>(
      'mutation { issueMyReferralCode { __typename ... on IssueMyReferralCodeSuccess { profile { referralCode } } } }',
      {},
      { 'x-customer-token': tok.data?.createCustomerToken.token as string },
    );
    expect(r.data?.issueMyReferralCode.profile.referralCode).toBe(code);
  });
});

describe('stage rules over GraphQL', () => {
  const SETTINGS = '{ lifecycleSettings { rules { stage rule isDefault defaultRule } } }';
  const UPDATE = `mutation($input: UpdateLifecycleSettingsInput!) { updateLifecycleSettings(input: $input) { __typename
    ... on LifecycleSettings { rules { stage rule isDefault } } ... on ValidationError { issues { path code message } } } }`;
  const SET_STAGE = `mutation($input: SetCustomerStageInput!) { setCustomerStage(input: $input) { __typename
    ... on ValidationError { issues { path code message } } } }`;

  it('lists the default rules, takes a custom one, refuses a bad one (typed), and checks manual moves against it', async () => {
    const r = await A.sk<{ lifecycleSettings: { rules: unknown[] } }>(SETTINGS);
    expect(r.data?.lifecycleSettings.rules).toEqual([
      {
        stage: 'LOYAL',
        rule: 'orders.count >= 3 AND orders.spanDays >= 180',
        isDefault: true,
        defaultRule: 'orders.count >= 3 AND orders.spanDays >= 180',
      },
      {
        stage: 'ADVOCATE',
        rule: 'orders.count >= 3 AND orders.spanDays >= 180 AND positiveWordOfMouth.count(within = 365d) >= 2',
        isDefault: true,
        defaultRule: 'orders.count >= 3 AND orders.spanDays >= 180 AND positiveWordOfMouth.count(within = 365d) >= 2',
      },
      { stage: 'STRATEGIC', rule: 'referredBuyers.count >= 2', isDefault: true, defaultRule: 'referredBuyers.count >= 2' },
    ]);
    const bad = await A.sk<{ updateLifecycleSettings: { __typename: string; issues: { path: string[]; code: string }[] } }>(UPDATE, {
      input: { rules: [{ stage: 'STRATEGIC', rule: 'referredBuyers.count >=' }] },
    });
    expect(bad.data?.updateLifecycleSettings).toMatchObject({
      __typename: 'ValidationError',
      issues: [{ path: ['input', 'rules', '0', 'rule'], code: 'syntax' }],
    });
    const set = await A.sk<{ updateLifecycleSettings: { rules: { stage: string; rule: string; isDefault: boolean }[] } }>(UPDATE, {
      input: { rules: [{ stage: 'STRATEGIC', rule: 'referredBuyers.count >= 1 and orders.count >= 2' }] },
    });
    expect(set.data?.updateLifecycleSettings.rules[2]).toEqual({
      stage: 'STRATEGIC',
      rule: 'referredBuyers.count >= 1 AND orders.count >= 2',
      isDefault: false,
    });
    // bob (2 orders, nobody referred) does not match the shop's STRATEGIC rule: a manual move is refused, naming it.
    const bob = (await byEmail(A.db, 'bob@ref.test')).id;
    const refused = await A.sk<{ setCustomerStage: { __typename: string; issues: { message: string }[] } }>(SET_STAGE, {
      input: { id: globalId('Customer', bob), stage: 'STRATEGIC', reason: 'test' },
    });
    expect(refused.data?.setCustomerStage.__typename).toBe('ValidationError');
    expect(refused.data?.setCustomerStage.issues[0]?.message).toMatch(
      /the shop's STRATEGIC rule \(referredBuyers.count >= 1 AND orders.count >= 2\) does not match/,
    );
    const reset = await A.sk<{ updateLifecycleSettings: { rules: { isDefault: boolean }[] } }>(UPDATE, { input: { rules: null } });
    expect(reset.data?.updateLifecycleSettings.rules.map((x) => x.isDefault)).toEqual([true, true, true]);
  });
});

describe('the SDK storefront entry', () => {
  it('passes referralCode on captureLead (the page reads ?ref itself; the bundle has no room for it)', async () => {
    const bodies: { variables: { input: Record<string, unknown> } }[] = [];
    const fakeFetch = (async (_url: unknown, init?: { body?: unknown }) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response(JSON.stringify({ data: { captureLead: { __typename: 'CaptureLeadPayload', accepted: true } } }), {
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof fetch;
    const sf = createStorefrontClient({ url: 'https://crm.example/graphql', apiKey: 'pk_test_x', fetch: fakeFetch });
    const ref = new URLSearchParams('?utm_source=x&ref=ABCDEFGH').get('ref');
    await sf.leads.capture({ email: 'x@ref.test', referralCode: ref });
    expect(bodies.map((b) => b.variables.input.referralCode)).toEqual(['ABCDEFGH']);
  });
});
