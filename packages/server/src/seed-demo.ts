import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { shopBound } from './db/shop-bound.ts';
import { forShop } from './db/tenant.ts';
import { fakeCustomer } from './demo-data.ts';
import type { Prisma, PrismaClient } from './generated/prisma/client.ts';
import type { LifecycleStage } from './generated/prisma/enums.ts';
import { createApiKey, findActiveKey } from './modules/auth/api-key.service.ts';
import { createStaffUser } from './modules/auth/staff.service.ts';
import { newReferralCode } from './modules/customers/customer.referral.ts';
import { type EmitEvent, gid } from './modules/events/event.service.ts';
import { createHoliday } from './modules/follow-ups/follow-up.holidays.ts';
import { evaluateLifecycle } from './modules/lifecycle/lifecycle.service.ts';
import { recomputeLoyalty, refreshLoyalty } from './modules/loyalty/loyalty.service.ts';
import { parseRule } from './modules/segments/segment.rule.ts';
import { createSegment } from './modules/segments/segment.service.ts';
import { createShop } from './modules/shops/shop.service.ts';

type DemoKeys = { shop: { id: string; name: string; slug: string }; secretKey: string; publishableKey: string };

/**
 * Creates the demo shop ("demo") with staff and 40 customers on first run. Its keys are kept in
 * `keysFile` (local development only) so later starts print the same keys.
 */
export async function seedDemo(prisma: PrismaClient, keysFile: string, progress?: (message: string) => void): Promise<DemoKeys> {
  const existing = await prisma.shop.findUnique({ where: { slug: 'demo' } });
  if (existing) {
    if (existsSync(keysFile)) {
      const saved = JSON.parse(readFileSync(keysFile, 'utf8')) as DemoKeys;
      if (
        saved.shop.id === existing.id &&
        (await findActiveKey(prisma, saved.secretKey)) &&
        (await findActiveKey(prisma, saved.publishableKey))
      ) {
        return saved;
      }
    }
    const db = forShop(prisma, existing.id);
    const sk = await createApiKey(db, { kind: 'SECRET', name: 'Demo secret key' });
    const pk = await createApiKey(db, { kind: 'PUBLISHABLE', name: 'Demo publishable key' });
    const keys = {
      shop: { id: existing.id, name: existing.name, slug: existing.slug },
      secretKey: sk.plainKey,
      publishableKey: pk.plainKey,
    };
    writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
    return keys;
  }
  const created = await createShop(prisma, {
    name: 'Demo Furniture Store',
    slug: 'demo',
    ownerEmail: 'owner@demo.example',
    ownerName: 'Olivia Owner',
  });
  const db = forShop(prisma, created.shop.id);
  progress?.('seeding the demo shop: staff, 40 customers with their history');
  await createStaffUser(db, { email: 'manager@demo.example', name: 'Max Manager', role: 'MANAGER' });
  const agents = [
    await createStaffUser(db, { email: 'ava@demo.example', name: 'Ava Agent', role: 'AGENT' }),
    await createStaffUser(db, { email: 'sam@demo.example', name: 'Sam Sales', role: 'AGENT' }),
  ];
  await seedHistory(
    prisma,
    created.shop.id,
    agents.map((a) => a.id),
  );
  // Loyalty metrics, points from the orders and actions, churn warnings: so `pnpm start` shows them.
  progress?.('seeding the demo shop: loyalty points, tiers and saved segments');
  await refreshLoyalty(shopBound(prisma, created.shop.id));
  await recomputeLoyalty(shopBound(prisma, created.shop.id));
  // The lifecycle ladder from the facts (LOYAL, ADVOCATE, STRATEGIC, CHURNED), with reasons.
  await evaluateLifecycle(prisma, created.shop.id);
  // A few saved segments (materialised now, refreshed by the server as data changes).
  for (const [name, rule] of [
    ['Repeat and loyal buyers', 'stage IN (REPEAT, LOYAL) AND orders.count >= 2'],
    ['At risk of churning', 'churnRisk IN (MEDIUM, HIGH)'],
    ['Open leads', 'stage IN (SUSPECT, PROSPECT) AND orders.count = 0'],
  ] as const) {
    await createSegment(shopBound(prisma, created.shop.id), { name, rule: parseRule(rule) });
  }
  // The holiday calendar the daily retention pass greets customers on (docs/follow-ups.md).
  for (const [name, date] of [
    ['New Year', '2000-01-01'],
    ['Christmas Eve', '2000-12-24'],
  ] as const) {
    await createHoliday(db, { name, date: new Date(`${date}T00:00:00Z`), recurringYearly: true });
  }
  const keys = { shop: created.shop, secretKey: created.secretKey, publishableKey: created.publishableKey };
  writeFileSync(keysFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}

const DAY = 86_400_000;

/** Customers whose facts are built for a given rung, so the demo shows every stage the rules reach. */
const DEMO_PLAN: Partial<Record<number, LifecycleStage>> = { 1: 'LOYAL', 2: 'ADVOCATE', 3: 'STRATEGIC', 4: 'CHURNED', 6: 'PARTNER' };
/** Days before now of each demo order per planned stage (plus i % 10): the facts behind the stage. */
const DEMO_ORDER_DAYS: Partial<Record<LifecycleStage, number[]>> = {
  FIRST_PURCHASE: [20], // one recent order
  REPEAT: [120, 30], // two orders 90 days apart: not yet LOYAL (span < 180 days)
  LOYAL: [330, 180, 25], // three orders over about ten months
  ADVOCATE: [330, 180, 25], // LOYAL plus two positive reviews / word of mouth (below)
  STRATEGIC: [60], // one order; two referred customers bought
  PARTNER: [200, 40],
  CHURNED: [420], // one order long ago: churn risk HIGH
};

/**
 * The demo customers with touchpoints, purchases, follow-ups and loyalty signals that fit their
 * stage, written set-based: one insert per table in one transaction (a dozen round trips instead
 * of about 2,500 through the one-row services, which made the first start slow on the embedded
 * database). The rows are what the services write, events included, so the demo shop looks as if
 * it had been filled through the API.
 */
async function seedHistory(prisma: PrismaClient, shopId: string, agentIds: string[]) {
  const now = Date.now();
  const customers: Prisma.CustomerCreateManyInput[] = [];
  const stages: Prisma.StageTransitionCreateManyInput[] = [];
  const tagLinks: { customerId: string; name: string }[] = [];
  const consents: Prisma.ConsentCreateManyInput[] = [];
  const interactions: Prisma.InteractionCreateManyInput[] = [];
  const orders: Prisma.OrderCreateManyInput[] = [];
  const items: Prisma.OrderItemCreateManyInput[] = [];
  const followUps: Prisma.FollowUpCreateManyInput[] = [];
  const events: { type: EmitEvent['type']; customerId: string; payload: EmitEvent['payload'] }[] = [];
  const byPlan = new Map<LifecycleStage, { id: string; index: number }[]>();
  for (let i = 0; i < 40; i++) {
    const f = fakeCustomer(i, 7);
    const id = randomUUID();
    // The stage the demo's facts are built for; every rung is present (DEMO_PLAN), the rest as drawn.
    const plan: LifecycleStage = DEMO_PLAN[i] ?? f.stage;
    const orderDays = DEMO_ORDER_DAYS[plan]?.map((d) => d + (i % 10)) ?? [];
    // Inserted where the order automation would leave the customer; the ladder does the rest (with reasons).
    const initial: LifecycleStage =
      plan === 'PARTNER' ? 'PARTNER' : orderDays.length >= 2 ? 'REPEAT' : orderDays.length === 1 ? 'FIRST_PURCHASE' : plan;
    byPlan.set(plan, [...(byPlan.get(plan) ?? []), { id, index: customers.length }]);
    const owner = i % 3 === 2 ? null : (agentIds[i % 2] ?? null);
    customers.push({
      id,
      shopId,
      firstName: f.firstName,
      lastName: f.lastName,
      company: f.company,
      email: f.email,
      phone: f.phone,
      stage: initial,
      partnerKind: plan === 'PARTNER' ? (i % 2 ? 'AGENT' : 'DISTRIBUTOR') : null,
      incomeBand: f.incomeBand,
      dealLikelihood: f.dealLikelihood,
      productInterests: f.productInterests,
      birthDate: f.birthDate,
      country: f.country,
      city: f.city,
      sourceChannel: f.sourceChannel,
      sourceCampaign: f.sourceCampaign,
      ownerId: owner,
    });
    stages.push({ shopId, customerId: id, fromStage: null, toStage: initial, source: 'IMPORT', reason: 'Created' });
    for (const name of new Set(f.tags)) tagLinks.push({ customerId: id, name });
    const changedAt = new Date(now);
    for (const [channel, granted] of [
      ['EMAIL', i % 4 !== 0],
      ['SMS', i % 3 === 0],
    ] as const) {
      consents.push({ shopId, customerId: id, channel, granted, source: 'demo-import', updatedAt: changedAt });
    }
    events.push({
      type: 'CUSTOMER_CREATED',
      customerId: id,
      payload: { customerId: gid('Customer', id), stage: initial, sourceChannel: f.sourceChannel },
    });
    const interaction = (data: Omit<Prisma.InteractionCreateManyInput, 'shopId' | 'customerId' | 'id' | 'source'>) => {
      const iid = randomUUID();
      // Every row names the same columns (a missing one would be NULL, not its default).
      interactions.push({
        id: iid,
        shopId,
        customerId: id,
        staffId: owner,
        source: 'api',
        subject: null,
        sentiment: null,
        metadata: {},
        surveyKind: null,
        score: null,
        ...data,
      });
      events.push({
        type: 'INTERACTION_RECORDED',
        customerId: id,
        payload: {
          interactionId: gid('Interaction', iid),
          customerId: gid('Customer', id),
          channel: data.channel,
          direction: data.direction,
          type: data.type,
          source: 'api',
          ...(data.surveyKind ? { surveyKind: data.surveyKind, score: data.score } : {}),
        },
      });
    };
    interaction({
      channel: i % 2 ? 'EMAIL' : 'PHONE',
      direction: 'INBOUND',
      type: 'INQUIRY',
      subject: `Question about ${f.productInterests[0] ?? 'delivery times'}`,
      sentiment: 'NEUTRAL',
      occurredAt: new Date(now - (30 + i) * DAY),
    });
    for (let n = 0; n < orderDays.length; n++) {
      const oid = randomUUID();
      const lines = [
        { sku: 'SOFA-3', name: 'Three-seat sofa', quantity: 1, unitPrice: '899.00', addOn: false },
        ...(n === 1 ? [{ sku: 'CARE', name: 'Fabric care kit', quantity: 1, unitPrice: '19.90', addOn: true }] : []),
      ];
      const total = n === 1 ? '918.90' : '899.00';
      const externalId = `DEMO-${1000 + i * 10 + n}`;
      orders.push({
        id: oid,
        shopId,
        customerId: id,
        externalId,
        currency: 'EUR',
        // The shop's base currency: rate 1 (without a rate an order does not count, docs/money.md).
        exchangeRate: '1',
        status: 'FULFILLED',
        channel: 'OWN_STORE',
        placedAt: new Date(now - (orderDays[n] as number) * DAY),
        subtotal: total,
        total,
      });
      for (const [position, l] of lines.entries()) items.push({ shopId, orderId: oid, position, ...l });
      events.push({
        type: 'ORDER_RECORDED',
        customerId: id,
        payload: {
          orderId: gid('Order', oid),
          customerId: gid('Customer', id),
          externalId,
          status: 'FULFILLED',
          channel: 'OWN_STORE',
          currency: 'EUR',
          total,
          created: true,
        },
      });
    }
    if (i % 5 === 0) {
      interaction({
        channel: 'SOCIAL',
        direction: 'INBOUND',
        type: 'REVIEW',
        subject: 'Lovely sofa, fast delivery',
        sentiment: 'POSITIVE',
        occurredAt: new Date(now - i * DAY),
      });
    }
    if (plan === 'ADVOCATE') {
      for (const [k, type] of (['REVIEW', 'WORD_OF_MOUTH'] as const).entries()) {
        interaction({
          channel: 'SOCIAL',
          direction: 'INBOUND',
          type,
          subject: type === 'REVIEW' ? 'Five stars again' : 'Recommended us to her book club',
          sentiment: 'POSITIVE',
          occurredAt: new Date(now - (10 + k) * DAY),
        });
      }
    }
    if (plan === 'PROSPECT' && owner) {
      followUps.push({
        shopId,
        customerId: id,
        assigneeId: owner,
        dueAt: new Date(now + ((i % 7) - 2) * DAY),
        goal: 'Call back about the offer',
      });
    }
    // A few loyalty signals: Q&A, event visits, completed surveys and suggestions.
    const signals = (['QA_PARTICIPATION', 'EVENT_ATTENDANCE', 'SURVEY_RESPONSE', 'SUGGESTION'] as const).filter(
      (_, k) => (i + k) % 3 === 0,
    );
    for (const [k, type] of signals.entries()) {
      interaction({
        channel: 'WEB',
        direction: 'INBOUND',
        type,
        metadata: type === 'SURVEY_RESPONSE' ? { completed: true } : {},
        occurredAt: new Date(now - (k + 2 + i) * DAY),
      });
    }
    // Satisfaction: buyers answer a CSAT survey (spread over the last five months, so the satisfaction
    // index has a history), every other one an NPS survey lately too (a trend against the CSAT).
    if (orderDays.length) {
      interaction({
        channel: 'EMAIL',
        direction: 'INBOUND',
        type: 'SURVEY_RESPONSE',
        subject: 'How satisfied are you with your order?',
        metadata: { completed: true },
        surveyKind: 'CSAT',
        score: [5, 4, 5, 3, 4, 5, 2][i % 7] as number,
        occurredAt: new Date(now - (3 + i * 4) * DAY),
      });
      if (i % 2 === 0) {
        interaction({
          channel: 'EMAIL',
          direction: 'INBOUND',
          type: 'SURVEY_RESPONSE',
          subject: 'Would you recommend us?',
          metadata: { completed: true },
          surveyKind: 'NPS',
          score: [10, 9, 7, 8, 6, 9, 10][i % 7] as number,
          occurredAt: new Date(now - (1 + i) * DAY),
        });
      }
    }
  }
  // STRATEGIC: two buyers of the demo were referred by the strategic customer, who shares a
  // referral link (?ref=CODE; docs/customers.md "Referral codes").
  const strategic = byPlan.get('STRATEGIC')?.[0];
  if (strategic) Object.assign(customers[strategic.index] as object, { referralCode: newReferralCode() });
  const referredBuyers = [...(byPlan.get('REPEAT') ?? []), ...(byPlan.get('FIRST_PURCHASE') ?? [])].slice(0, 2);
  for (const r of referredBuyers) {
    Object.assign(customers[r.index] as object, { sourceChannel: 'REFERRAL', sourceReferrerId: strategic?.id ?? null });
  }
  const tagNames = [...new Set(tagLinks.map((l) => l.name))];
  const tags = tagNames.map((name) => ({ id: randomUUID(), shopId, name }));
  const tagId = new Map(tags.map((x) => [x.name, x.id]));
  await prisma.$transaction(async (tx) => {
    const insert = <T extends object>(table: Prisma.ModelName, rows: T[]) => insertRows(tx, table, rows);
    await insert('Customer', customers);
    await insert('StageTransition', stages);
    await insert('Tag', tags);
    await insert(
      'CustomerTag',
      tagLinks.map((l) => ({ shopId, customerId: l.customerId, tagId: tagId.get(l.name) })),
    );
    await insert('Consent', consents);
    await insert(
      'ConsentChange',
      consents.map((c) => ({
        shopId,
        customerId: c.customerId,
        channel: c.channel,
        granted: c.granted,
        source: c.source,
        changedAt: c.updatedAt,
      })),
    );
    await insert('Order', orders);
    await insert('OrderItem', items);
    await insert('Interaction', interactions);
    await insert('FollowUp', followUps);
    await insert(
      'Event',
      events.map((e) => ({ shopId, type: e.type, customerId: e.customerId ?? null, payload: e.payload })),
    );
  });
}

/**
 * One INSERT for many rows: the rows travel as one JSON array and PostgreSQL converts each field
 * to its column's type (jsonb_populate_record with the table's row type); columns not given keep
 * their defaults. Hand-written because Prisma's createMany costs a round of query planning per row
 * on the embedded database, which is what made the first start slow.
 */
async function insertRows(tx: Prisma.TransactionClient, table: Prisma.ModelName, rows: object[]): Promise<void> {
  if (!rows.length) return;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const list = columns.map((c) => `"${c}"`).join(', ');
  const values = columns.map((c) => `(r)."${c}"`).join(', ');
  await tx.$executeRawUnsafe(
    `INSERT INTO "${table}" (${list}) SELECT ${values} FROM (SELECT jsonb_populate_record(NULL::"${table}", x) AS r FROM jsonb_array_elements($1::jsonb) x) s`,
    JSON.stringify(rows),
  );
}
