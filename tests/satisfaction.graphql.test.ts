import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrmClient, createCrmClient, unwrap } from '../packages/sdk/src/index.ts';
import { type Caller, createTestApp, type TestApp } from '../packages/server/src/testing.ts';
import { createCustomer, errorCodes, ok } from './helpers/crm.ts';

/**
 * Satisfaction over GraphQL and the SDK (definitions: docs/loyalty.md), on a hand-computed
 * fixture in the current month (all facts at T0 = max(month start, now − 1 h) + a few seconds):
 * - c1 answers CSAT 2 then CSAT 5 (latest 5, previous 2, UP, very satisfied) and buys once (100);
 *   c2 answers NPS 6 (not very satisfied).
 * - The month: 3 answers, 1 very satisfied -> 0.3333 / 0.5 -> 67; 1 buyer, no repeat -> 0; no
 *   complaints -> 100; no discount -> 100; no reviews (reputation), no earlier orders (ticket-size
 *   target) and nobody active at the month's start (leaving): left out.
 *   Index = (25·67 + 20·0 + 15·100 + 5·100) / (25 + 20 + 15 + 5) = 3675 / 65 = 56.5.
 * - Loyalty indicators: surveys c1 2 (67), c2 1 (33), average 50; every other indicator 0, so the
 *   weakest three are the heaviest of those: word of mouth (20) and referrals (20), in the
 *   indicators' order, then add-ons (15).
 */

let t: TestApp;
let g: Caller;
let crm: CrmClient;
const ids: Record<string, string> = {};
const ERR = '... on Error { code message path }';
const now = Date.now();
const monthStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
const T0 = Math.max(monthStart + 1000, now - 3_600_000);
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

async function record(input: Record<string, unknown>) {
  const r = await ok<{ recordInteraction: { __typename: string; code?: string; path?: string[] } }>(
    g,
    `mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) { __typename ${ERR} ... on RecordInteractionSuccess { interaction { id surveyKind score } } } }`,
    { input: { channel: 'EMAIL', direction: 'INBOUND', type: 'SURVEY_RESPONSE', ...input } },
  );
  return r.recordInteraction;
}

beforeAll(async () => {
  t = await createTestApp();
  const s = await t.newShop('Satisfaction Shop', 'owner@sat.test');
  g = t.gql(s.secretKey);
  const url = `${await t.app.start()}/graphql`;
  crm = createCrmClient({ url, apiKey: s.secretKey });
  ids.c1 = (await createCustomer(g, { email: 'c1@sat.test' })).id;
  ids.c2 = (await createCustomer(g, { email: 'c2@sat.test' })).id;
  expect((await record({ customerId: ids.c1, surveyKind: 'CSAT', score: 2, occurredAt: at(0) })).__typename).toBe(
    'RecordInteractionSuccess',
  );
  await record({ customerId: ids.c1, surveyKind: 'CSAT', score: 5, occurredAt: at(1) });
  await record({ customerId: ids.c2, surveyKind: 'NPS', score: 6, occurredAt: at(2) });
  unwrap(
    await crm.orders.upsert({
      customerId: ids.c1,
      externalId: 'sat-1',
      currency: 'EUR',
      placedAt: at(3),
      items: [{ name: 'Lamp', quantity: 1, unitPrice: '100.00' }],
    }),
  );
});
afterAll(() => t?.close());

describe('satisfaction over GraphQL', () => {
  it('refuses a score outside its scale with a typed error at the field', async () => {
    expect(await record({ customerId: ids.c1, surveyKind: 'CSAT', score: 9 })).toMatchObject({
      __typename: 'ValidationError',
      code: 'VALIDATION_FAILED',
      path: ['input', 'score'],
    });
    expect(await record({ customerId: ids.c1, type: 'REVIEW', surveyKind: 'NPS', score: 9 })).toMatchObject({
      __typename: 'ValidationError',
      path: ['input', 'surveyKind'],
    });
  });

  it('shows a customer’s latest answer, trend and the very-satisfied flag', async () => {
    const r = await ok<{ customer: { satisfaction: Record<string, unknown> | null } }>(
      g,
      'query($id: ID!) { customer(id: $id) { satisfaction { kind latest previous trend verySatisfied answeredAt csat { latest change } nps { latest } } } }',
      { id: ids.c1 },
    );
    expect(r.customer.satisfaction).toEqual({
      kind: 'CSAT',
      latest: 5,
      previous: 2,
      trend: 'UP',
      verySatisfied: true,
      answeredAt: at(1),
      csat: { latest: 5, change: 3 },
      nps: null,
    });
    const c2 = await crm.loyalty.satisfaction(ids.c2);
    expect(c2?.satisfaction).toMatchObject({ kind: 'NPS', latest: 6, previous: null, trend: null, verySatisfied: false });
    // Only loyalty:read keys see it.
    const key = await ok<{ createApiKey: { key: string } }>(
      g,
      'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { ... on CreatedApiKey { key } } }',
      { i: { name: 'contacts only', kind: 'SECRET', scopes: ['contacts:read'] } },
    );
    const narrow = await t.gql(key.createApiKey.key)('query($id: ID!) { customer(id: $id) { satisfaction { latest } } }', { id: ids.c1 });
    expect(errorCodes(narrow)).toEqual(['FORBIDDEN']);
  });

  it('computes the shop satisfaction index of the month, with each indicator’s value, target, score and contribution', async () => {
    const idx = await crm.loyalty.satisfactionIndex(2);
    expect(idx.months).toHaveLength(2);
    expect(idx.current.month).toBe(new Date(monthStart).toISOString().slice(0, 7));
    expect(idx.current.index).toBe(56.5);
    const f = Object.fromEntries(idx.current.indicators.map((x) => [x.indicator, [x.value, x.target, x.score, x.contribution, x.basis]]));
    expect(f).toEqual({
      SATISFACTION: [0.3333, 0.5, 67, 25.8, 3],
      REPUTATION: [null, 0.8, null, 0, 0],
      REPURCHASE: [0, 0.3, 0, 0, 1],
      COMPLAINTS: [0, 0.05, 100, 23.1, 1],
      TICKET_SIZE: [100, null, null, 0, 1],
      PRICE_SENSITIVITY: [0, 0.3, 100, 7.7, 1],
      LEAVING: [null, 0.05, null, 0, 0],
    });
    // A shop target for the ticket size brings it into the index: 100 / 80 -> 100, (3675 + 500) / 70 = 59.6.
    const upd = await crm.loyalty.updateSettings({ satisfaction: { targets: { ticketSize: 80 } } });
    expect(upd.__typename === 'LoyaltySettings' && upd.satisfaction.targets.ticketSize).toBe(80);
    expect((await crm.loyalty.satisfactionIndex(1)).current.index).toBe(59.6);
    unwrap(await crm.loyalty.updateSettings({ satisfaction: null }));
    const bad = await g('{ satisfactionIndex(months: 0) { change } }');
    expect(errorCodes(bad)).toEqual(['VALIDATION_FAILED']);
  });

  it('diagnoses the loyalty indicators and names the weakest with the playbook', async () => {
    const all = await crm.loyalty.indicatorDiagnosis(3);
    const surveys = all.find((x) => x.indicator === 'SURVEYS_COMPLETED');
    expect(surveys).toMatchObject({
      customers: 2,
      averageValue: 1.5,
      averageScore: 50,
      reach: 1,
      distribution: [
        { from: 0, to: 19, count: 0 },
        { from: 20, to: 39, count: 1 },
        { from: 40, to: 59, count: 0 },
        { from: 60, to: 79, count: 1 },
        { from: 80, to: 100, count: 0 },
      ],
    });
    expect(surveys?.months.at(-1)).toMatchObject({ facts: 3, customers: 2 });
    const weak = await crm.loyalty.weakestIndicators(3);
    expect(weak.map((x) => x.indicator)).toEqual(['POSITIVE_WORD_OF_MOUTH', 'REFERRALS_BOUGHT', 'ADD_ON_PURCHASES']);
    expect(weak[0]?.playbook).toMatchObject({ action: 'ASK_FOR_REVIEWS' });
    expect(errorCodes(await g('{ weakestIndicators(limit: 0) { indicator } }'))).toEqual(['VALIDATION_FAILED']);
  });
});
