import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from './db/shop-bound.ts';
import { forShop } from './db/tenant.ts';
import * as customers from './modules/customers/customer.service.ts';
import { updateLoyaltySettings } from './modules/loyalty/loyalty.settings.ts';
import { upsertOrder } from './modules/orders/order.service.ts';
import { parseRule } from './modules/segments/segment.rule.ts';
import { createSegment } from './modules/segments/segment.service.ts';
import { type CreatedShop, createShop } from './modules/shops/shop.service.ts';
import { createEndpoint } from './modules/webhooks/webhook.service.ts';
import { createTestDatabase, type TestDatabase, testBackend } from './testing.ts';
import {
  findRedis,
  gqlPost,
  type Instance,
  type PgBouncer,
  pgbouncerBinary,
  sleep,
  startInstance,
  startPgBouncer,
  waitFor,
} from './testing-processes.ts';

/**
 * Every multi-instance claim, with PROCESSES: two server instances run every background pass at
 * once, on short intervals (webhook dispatcher, FOLLOW_UP_DUE, saved segments incl. full refreshes,
 * loyalty folds, event retention, lead pool), through PgBouncer in transaction mode when the
 * binary is installed (the claims' locks must be transaction-scoped to hold there), else directly.
 * While writes arrive (made here, in the test process, straight through the services) and both
 * instances generate retention follow-ups for the same customers at the same time, the effects
 * must happen exactly once: one webhook delivery per event at the one receiver, one FOLLOW_UP_DUE
 * per due date, one retention follow-up per customer and date (and per crossing into churn risk HIGH), one SEGMENT_ENTERED per member,
 * one points movement per order (one loyalty fold). Resuming a subscription on another instance
 * with `after` is covered by modules/events/multi-instance.test.ts.
 */
const postgres = testBackend() === 'postgres';
const bin = pgbouncerBinary();
const actor: customers.Actor = { staffId: null, source: 'api' };

// Skipped on PGlite: it is embedded in one process.
describe.skipIf(!postgres)('two instances running every background pass at once', () => {
  let tdb: TestDatabase;
  let shop: CreatedShop;
  let bouncer: PgBouncer | null = null;
  let redis: Awaited<ReturnType<typeof findRedis>> = null;
  let receiver: Server;
  const received: { eventId: string; deliveryId: string }[] = [];
  const instances: Instance[] = [];

  beforeAll(async () => {
    redis = await findRedis();
    tdb = await createTestDatabase();
    shop = await createShop(tdb.prisma, { name: `Passes ${randomBytes(3).toString('hex')}` });
    if (bin) bouncer = await startPgBouncer(bin, tdb.url as string, { poolSize: 10 });
    receiver = createServer((req, res) => {
      received.push({ eventId: String(req.headers['x-crm-event-id']), deliveryId: String(req.headers['x-crm-delivery-id']) });
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    for (const i of instances) await i.stop();
    await new Promise((r) => receiver?.close(r));
    await bouncer?.stop();
    await tdb?.close();
    await redis?.stop();
  });

  it('each effect happens once: webhook deliveries, FOLLOW_UP_DUE, retention follow-ups, segment entries, loyalty folds and churn follow-ups', async (ctx) => {
    ctx.onTestFailed(() => {
      for (const i of instances) console.error(`[instance output]\n${i.output.join('').slice(-3000)}`);
    });
    const db = forShop(tdb.prisma, shop.shop.id);
    const shopId = shop.shop.id;
    // The receiver subscribes to everything from now on.
    // A local receiver: http and a loopback address are allowed by the development settings only.
    const endpoint = await createEndpoint(
      db,
      { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` },
      { allowHttp: true, allowPrivate: true },
    );
    const segment = await createSegment(shopBound(tdb.prisma, shopId), { name: 'Partners', rule: parseRule('stage = PARTNER') });
    // A customer crossing into churn risk HIGH gets one retention follow-up (loyalty passes).
    await updateLoyaltySettings(db, { churn: { createFollowUp: true, followUpDueDays: 2 } });

    const every = '200';
    const env = {
      WEBHOOKS: '1',
      WEBHOOK_ALLOW_HTTP: '1',
      WEBHOOK_ALLOW_PRIVATE: '1',
      WEBHOOK_INTERVAL_MS: every,
      WEBHOOK_BACKOFF_MS: '1000',
      FOLLOW_UP_DUE_INTERVAL_MS: every,
      SEGMENTS_INTERVAL_MS: every,
      SEGMENTS_FULL_REFRESH_MS: '1000',
      LOYALTY_INTERVAL_MS: every,
      RETENTION_INTERVAL_MS: every,
      LEAD_POOL_INTERVAL_MS: every,
      EVENT_POLL_MS: '500',
      MIGRATE_ON_START: '0',
      DB_POOL_SIZE: '5',
    };
    const url = bouncer?.url ?? (tdb.url as string);
    instances.push(...(await Promise.all([startInstance(url, redis?.url, env), startInstance(url, redis?.url, env)])));
    const [one, two] = instances as [Instance, Instance];

    // Writes while both instances' passes run.
    const N = 10;
    const loyal: string[] = [];
    const partners: string[] = [];
    const orders: string[] = [];
    const dueIds: string[] = [];
    const yes = [{ channel: 'EMAIL' as const, granted: true }];
    for (let i = 0; i < N; i++) {
      loyal.push((await customers.createCustomer(db, actor, { email: `loyal${i}@p.test`, stage: 'LOYAL', consents: yes })).id);
      const p = await customers.createCustomer(db, actor, { email: `partner${i}@p.test` });
      partners.push(p.id);
      // Due a moment ago: the next FOLLOW_UP_DUE pass of either instance takes it.
      const f = await tdb.prisma.followUp.create({
        data: { shopId, customerId: p.id, dueAt: new Date(Date.now() - 1000), channel: 'EMAIL' },
      });
      dueIds.push(f.id);
      await customers.setStage(db, actor, p.id, 'PARTNER', null, 'MANUAL', { partnerKind: 'AGENT' });
      const o = await upsertOrder(db, actor, {
        externalId: `order-${i}`,
        customerId: p.id,
        currency: 'EUR',
        items: [{ name: 'Kettle', quantity: 1, unitPrice: '40' }],
        placedAt: new Date(),
      });
      orders.push(o.order.id);
      await sleep(50);
    }
    // Lapsed customers: one order 400 days ago, so the loyalty passes find them at churn risk HIGH.
    const lapsed: string[] = [];
    for (let i = 0; i < 3; i++) {
      // With consent: the churn follow-up is only for customers who may be contacted.
      const c = await customers.createCustomer(db, actor, { email: `lapsed${i}@p.test`, consents: yes });
      lapsed.push(c.id);
      await upsertOrder(db, actor, {
        externalId: `old-${i}`,
        customerId: c.id,
        currency: 'EUR',
        items: [{ name: 'Boiler', quantity: 1, unitPrice: '900' }],
        placedAt: new Date(Date.now() - 400 * 86_400_000),
      });
    }
    // Both instances generate the same retention follow-ups at the same time, three times over.
    const holiday = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
    const generate = (inst: Instance) =>
      gqlPost<{ generateRetentionFollowUps: { __typename: string; createdCount?: number } }>(
        inst.url,
        shop.secretKey,
        'mutation($i: GenerateRetentionFollowUpsInput!) { generateRetentionFollowUps(input: $i) { __typename ... on RetentionFollowUpsPayload { createdCount } } }',
        { i: { kinds: ['HOLIDAY'], stages: ['LOYAL'], holidayDate: holiday, holidayName: 'Open day' } },
      );
    const runs = (await Promise.all([generate(one), generate(two), generate(one), generate(two), generate(one), generate(two)])).map(
      (r) => {
        expect(r.errors).toBeUndefined();
        expect(r.data?.generateRetentionFollowUps.__typename).toBe('RetentionFollowUpsPayload');
        return r.data?.generateRetentionFollowUps.createdCount ?? 0;
      },
    );
    expect(runs.reduce((a, b) => a + b, 0)).toBe(N);

    // Every pass has done its work ...
    const countEvents = (type: string) => tdb.prisma.event.count({ where: { shopId, type: type as never } });
    await waitFor(async () => (await countEvents('FOLLOW_UP_DUE')) >= N, 'FOLLOW_UP_DUE events', 60_000);
    await waitFor(async () => (await countEvents('SEGMENT_ENTERED')) >= N, 'SEGMENT_ENTERED events', 60_000);
    await waitFor(async () => (await countEvents('CHURN_RISK_RAISED')) >= lapsed.length, 'CHURN_RISK_RAISED events', 60_000);
    await waitFor(
      async () => (await db.pointsMovement.count({ where: { orderId: { in: orders } } })) >= N,
      'points for every order (loyalty fold)',
      60_000,
    );
    // ... and a few more passes of every kind run on both instances, with nothing left to do.
    await sleep(2000);
    await waitFor(
      async () => received.length >= (await tdb.prisma.event.count({ where: { shopId, id: { gt: endpoint.lastEventId } } })),
      'a delivery of every event',
      60_000,
    );
    await sleep(1500);

    // FOLLOW_UP_DUE: one per due date.
    const due = await tdb.prisma.event.findMany({ where: { shopId, type: 'FOLLOW_UP_DUE' }, select: { payload: true } });
    const dueFor = due.map(
      (e) =>
        Buffer.from((e.payload as { followUpId: string }).followUpId, 'base64')
          .toString()
          .split(':')[1],
    );
    expect(dueFor.sort()).toEqual([...dueIds].sort());
    // Retention follow-ups: one per customer and date (generated on both instances at once), one per
    // customer crossing into churn risk HIGH (loyalty passes on both), one FOLLOW_UP_CREATED each.
    const retention = await db.followUp.findMany({ where: { retentionKey: { startsWith: 'HOLIDAY:' } }, select: { customerId: true } });
    expect(retention.map((f) => f.customerId).sort()).toEqual([...loyal].sort());
    const churn = await tdb.prisma.event.findMany({ where: { shopId, type: 'CHURN_RISK_RAISED' }, select: { customerId: true } });
    expect(churn.map((e) => e.customerId).sort()).toEqual([...lapsed].sort());
    const churnFollowUps = await db.followUp.findMany({ where: { customerId: { in: lapsed } }, select: { customerId: true, goal: true } });
    expect(churnFollowUps.map((f) => f.customerId).sort()).toEqual([...lapsed].sort());
    expect(churnFollowUps.every((f) => f.goal?.includes('churn risk HIGH'))).toBe(true);
    const created = await tdb.prisma.event.findMany({ where: { shopId, type: 'FOLLOW_UP_CREATED' }, select: { customerId: true } });
    expect(created.map((e) => e.customerId).sort()).toEqual([...loyal, ...lapsed].sort());
    // Segment: one SEGMENT_ENTERED per member, the member count right.
    const entered = await tdb.prisma.event.findMany({ where: { shopId, type: 'SEGMENT_ENTERED' }, select: { customerId: true } });
    expect(entered.map((e) => e.customerId).sort()).toEqual([...partners].sort());
    expect((await db.segment.findUniqueOrThrow({ where: { id: segment.id } })).memberCount).toBe(N);
    // Loyalty: one points movement per order, each order counted once in the metrics.
    const movements = await db.pointsMovement.findMany({ where: { orderId: { in: orders } }, select: { orderId: true, points: true } });
    expect(movements.map((m) => m.orderId).sort()).toEqual([...orders].sort());
    expect(movements.every((m) => m.points === 40)).toBe(true);
    const metrics = await db.customerMetrics.findMany({ where: { customerId: { in: partners } }, select: { frequency: true } });
    expect(metrics.map((m) => m.frequency)).toEqual(Array(N).fill(1));
    // Webhooks: every event delivered exactly once to the one receiver, each delivery on its first attempt.
    const events = await tdb.prisma.event.findMany({ where: { shopId, id: { gt: endpoint.lastEventId } }, select: { id: true } });
    expect(received.map((r) => r.eventId).sort()).toEqual(events.map((e) => e.id.toString()).sort());
    expect(new Set(received.map((r) => r.deliveryId)).size).toBe(received.length);
    const deliveries = await db.webhookDelivery.findMany({ select: { status: true, attempts: true } });
    expect(deliveries.length).toBe(events.length);
    expect(deliveries.every((d) => d.status === 'SUCCEEDED' && d.attempts === 1)).toBe(true);
    // No pass failed on either instance (deadlocks, unique violations, lock trouble).
    for (const i of instances) expect(i.output.join('')).not.toContain('"level":"error"');
    console.info(
      `[passes] ${bouncer ? 'through PgBouncer' : 'direct'}: ${events.length} events delivered once each; retention runs created ${runs.join('+')}`,
    );
  });
});
