import { encodeGlobalID } from '@pothos/plugin-relay';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { ConflictError, VersionConflictError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { recordInteraction } from '../interactions/interaction.service.ts';
import { recomputeLoyalty } from '../loyalty/loyalty.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import { compileRule, countMatching, pageMatching } from './segment.compile.ts';
import { parseRule } from './segment.rule.ts';
import * as svc from './segment.service.ts';

let tdb: TestDatabase;
let db: ScopedDb;
let shopA: string;
let shopB: string;
const actor: customers.Actor = { staffId: null, source: 'api' };
const NOW = new Date();
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);
const yearsAgo = (y: number) => new Date(Date.UTC(NOW.getUTCFullYear() - y, 0, 1));

type C = Awaited<ReturnType<typeof customers.createCustomer>>;
const P: Record<string, C> = {};

beforeAll(async () => {
  tdb = await createTestDatabase();
  shopA = (await tdb.prisma.shop.create({ data: { name: 'A', slug: 'seg-a' } })).id;
  shopB = (await tdb.prisma.shop.create({ data: { name: 'B', slug: 'seg-b' } })).id;
  db = forShop(tdb.prisma, shopA);
  const mk = (key: string, input: customers.CreateCustomerInput, d = db) =>
    customers.createCustomer(d, actor, { email: `${key}@seg.test`, ...input }).then((c) => {
      P[key] = c;
    });
  await mk('ann', {
    stage: 'REPEAT',
    incomeBand: 'HIGH',
    birthDate: yearsAgo(30),
    tags: ['vip'],
    attributes: { shoeSize: 43, newsletter: true, tier: 'gold' },
    location: { country: 'DE', city: 'Köln' },
    consents: [{ channel: 'EMAIL', granted: true }],
  } as never);
  await mk('ben', { stage: 'LOYAL', incomeBand: 'HIGH', birthDate: yearsAgo(50), attributes: { shoeSize: 41 } } as never);
  await mk('cat', { stage: 'PROSPECT', gender: 'FEMALE', attributes: { tier: "x' OR 1=1 --" } } as never);
  await mk('dan', { stage: 'REPEAT', incomeBand: 'LOW', birthDate: yearsAgo(28), tags: ['vip'] } as never);
  await mk('eve', { stage: 'REPEAT', incomeBand: 'HIGH', birthDate: yearsAgo(35), tags: ['vip'] } as never, forShop(tdb.prisma, shopB));
  const order = (c: C, ext: string, placedAt: Date, total: string, sku = 'SOFA', status?: 'CANCELLED') =>
    upsertOrder(db, actor, {
      externalId: ext,
      customerId: c.id,
      currency: 'EUR',
      placedAt,
      ...(status ? { status } : {}),
      items: [{ sku, name: sku, quantity: 1, unitPrice: total }],
    } as never);
  await order(P.ann as C, 'o1', daysAgo(200), '100.00');
  await order(P.ann as C, 'o2', daysAgo(120), '300.00', 'LAMP');
  await order(P.ben as C, 'o3', daysAgo(10), '50.00');
  await order(P.ben as C, 'o4', daysAgo(5), '70.00', 'CARE');
  await order(P.dan as C, 'o5', daysAgo(400), '20.00');
  await order(P.dan as C, 'o6', daysAgo(3), '999.00', 'SOFA', 'CANCELLED');
  await recordInteraction(
    db,
    actor,
    {
      customerId: (P.cat as C).id,
      channel: 'PHONE',
      direction: 'INBOUND',
      type: 'COMPLAINT',
      sentiment: 'NEGATIVE',
      occurredAt: daysAgo(2),
    } as never,
    'api',
  );
  await recordInteraction(
    db,
    actor,
    { customerId: (P.cat as C).id, channel: 'EMAIL', direction: 'INBOUND', type: 'COMPLAINT', occurredAt: daysAgo(100) } as never,
    'api',
  );
});
afterAll(() => tdb.close());

const names = (ids: string[]) =>
  Object.entries(P)
    .filter(([, c]) => ids.includes(c.id))
    .map(([k]) => k)
    .sort();
async function match(rule: string): Promise<string[]> {
  const r = parseRule(rule);
  const sql = tenantSql(tdb.prisma, shopA);
  const page = await pageMatching(sql, r, NOW, { first: 100 });
  expect(await countMatching(sql, r, NOW)).toBe(page.keys.length);
  return names(page.keys.map((k) => k.id));
}

describe('compiled rules on live data', () => {
  it('evaluates loyalty metrics (score, RFM, churn risk, lifetime value) from the loyalty module', async () => {
    // Before any recompute no customer has metrics: scores count as 0, codes and levels as null.
    expect(await match('churnRisk IS NULL')).toEqual(['ann', 'ben', 'cat', 'dan']);
    await recomputeLoyalty(shopBound(tdb.prisma, shopA), NOW);
    await recomputeLoyalty(shopBound(tdb.prisma, shopB), NOW);
    const rows = await tdb.prisma.customerMetrics.findMany({ where: { shopId: shopA } });
    const where = (f: (r: (typeof rows)[number]) => boolean) => names(rows.filter(f).map((r) => r.customerId));
    expect(await match('rfm.frequency >= 1')).toEqual(['ann', 'ben', 'dan']); // dan's cancelled order does not count
    expect(await match('rfm IS NULL')).toEqual(['cat']);
    expect(await match('churnRisk = HIGH')).toContain('dan'); // one order, 400 days ago
    expect(await match('churnRisk = HIGH')).not.toContain('ben'); // ordered 5 days ago
    for (const level of ['LOW', 'MEDIUM', 'HIGH'] as const)
      expect(await match(`churnRisk = ${level}`)).toEqual(where((r) => r.churnRisk === level));
    expect(await match('lifetimeValue >= 400')).toEqual(['ann']);
    expect(await match('loyalty.score >= 0 AND rfm.recency >= 1')).toEqual(where((r) => r.recencyScore >= 1));
    const top = Math.max(...rows.map((r) => r.monetaryScore));
    expect(await match(`rfm.monetary = ${top}`)).toEqual(where((r) => r.monetaryScore === top));
    expect(await match(`rfm IN ('${rows.find((r) => r.rfm)?.rfm}')`)).toEqual(where((r) => r.rfm === rows.find((x) => x.rfm)?.rfm));
  });

  it('evaluates profile, behaviour and custom-attribute fields', async () => {
    expect(
      await match(
        "stage IN (REPEAT, LOYAL) AND incomeBand = HIGH AND age BETWEEN 25 AND 40 AND orders.count >= 2 AND lastOrderAt < -90d AND tags CONTAINS 'vip'",
      ),
    ).toEqual(['ann']);
    expect(await match('stage IN (REPEAT, LOYAL)')).toEqual(['ann', 'ben', 'dan']);
    expect(await match('orders.count >= 2')).toEqual(['ann', 'ben']); // dan's second order was cancelled
    expect(await match('orders.count(within = 30d) >= 1')).toEqual(['ben']);
    expect(await match('orders.count = 0')).toEqual(['cat']);
    expect(await match('orders.total > 350')).toEqual(['ann']);
    expect(await match('orders.average BETWEEN 50 AND 70')).toEqual(['ben']);
    expect(await match('lastOrderAt > -30d')).toEqual(['ben']);
    expect(await match('NOT lastOrderAt > -30d')).toEqual(['ann', 'cat', 'dan']); // NOT counts "no orders" as not matching the inner rule
    expect(await match("skus CONTAINS 'LAMP' OR skus CONTAINS 'CARE'")).toEqual(['ann', 'ben']);
    expect(await match("tags CONTAINS 'vip' AND NOT incomeBand = LOW")).toEqual(['ann']);
    expect(await match('incomeBand != LOW')).toEqual(['ann', 'ben', 'cat']); // null-safe: cat has none
    expect(await match('incomeBand IS NULL')).toEqual(['cat']);
    expect(await match('interactions.count(type = COMPLAINT) >= 2')).toEqual(['cat']);
    expect(await match('interactions.count(type = COMPLAINT, within = 30d) >= 2')).toEqual([]);
    expect(await match('interactions.count(sentiment = NEGATIVE, channel = PHONE) = 1')).toEqual(['cat']);
    expect(await match('lastInteractionAt > -7d')).toEqual(['cat']);
    expect(await match('consent.EMAIL = true')).toEqual(['ann']);
    expect(await match('consent.EMAIL = false')).toEqual(['ben', 'cat', 'dan']);
    expect(await match('attributes.shoeSize >= 42')).toEqual(['ann']);
    expect(await match('attributes.shoeSize BETWEEN 40 AND 50')).toEqual(['ann', 'ben']);
    expect(await match('attributes.newsletter = true')).toEqual(['ann']);
    expect(await match("attributes.tier = 'gold'")).toEqual(['ann']);
    expect(await match("attributes.tier = 'x'' OR 1=1 --'")).toEqual(['cat']); // a value, never SQL
    expect(await match('attributes.missing IS NULL')).toEqual(['ann', 'ben', 'cat', 'dan']);
    expect(await match("city CONTAINS 'köl'")).toEqual(['ann']);
    expect(await match('gender = FEMALE OR age > 45')).toEqual(['ben', 'cat']);
    expect(await match('createdAt > -1d')).toEqual(['ann', 'ben', 'cat', 'dan']); // never shop B's eve
  });

  it('pages with a keyset cursor, and archived customers are never members', async () => {
    const sql = tenantSql(tdb.prisma, shopA);
    const r = parseRule('createdAt > -1d');
    const p1 = await pageMatching(sql, r, NOW, { first: 3 });
    expect(p1.hasNextPage).toBe(true);
    const p2 = await pageMatching(sql, r, NOW, { first: 3, after: p1.keys.at(-1) ?? null });
    expect(p2.hasNextPage).toBe(false);
    expect(names([...p1.keys, ...p2.keys].map((k) => k.id))).toEqual(['ann', 'ben', 'cat', 'dan']);
    expect(new Set([...p1.keys, ...p2.keys].map((k) => k.id)).size).toBe(4);
    await customers.archiveCustomer(db, (P.dan as C).id, true);
    expect(await match('createdAt > -1d')).toEqual(['ann', 'ben', 'cat']);
    await customers.archiveCustomer(db, (P.dan as C).id, false);
  });
});

describe('query plans', () => {
  it('the order aggregates are read by an index-only scan of the covering Order index (no heap, no hash aggregate)', async () => {
    // Guards the covering index (migration 20261127050915_money): every column the grouped order
    // subquery reads must be in "Order"(shopId, customerId, placedAt, countedTotal, competitorTotal),
    // or this plan is impossible.
    await tdb.sql.exec('VACUUM ANALYZE "Order"');
    const rule = parseRule(
      'orders.count(within = 365d) >= 1 OR orders.total > 0 OR orders.average > 0 OR lastOrderAt > -1y OR firstOrderAt < +1d OR competitorOrders.total > 0',
    );
    const plan = await tdb.prisma.$transaction(async (tx) => {
      // Tiny tables: without this the planner rightly prefers a sequential scan.
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
      const shop = Prisma.sql`${shopA}::uuid`;
      const c = compileRule(rule, { shop, now: NOW });
      const rows = await tx.$queryRaw<Record<string, string>[]>(
        Prisma.sql`EXPLAIN SELECT count(*) FROM "Customer" c ${c.joins} WHERE c."shopId" = ${shop} AND ${c.where}`,
      );
      return rows.map((r) => Object.values(r)[0]).join('\n');
    });
    // Three grouped subqueries (orders with and without the window, competitor purchases), each an
    // index-only scan in customer order.
    expect(plan.match(/Index Only Scan using "Order_shopId_customerId_placedAt_countedTotal_competitorTot_idx"/g)?.length).toBe(3);
    expect(plan).not.toMatch(/HashAggregate/);
  });
});

describe('saved segments and membership', () => {
  const events = async (segmentId: string) =>
    (
      await tdb.prisma.event.findMany({
        where: { shopId: shopA, type: { in: ['SEGMENT_ENTERED', 'SEGMENT_LEFT'] } },
        orderBy: { id: 'asc' },
      })
    )
      .filter((e) => (e.payload as { segmentId: string }).segmentId === svc.segmentGid(segmentId))
      .map((e) => `${e.type === 'SEGMENT_ENTERED' ? '+' : '-'}${names([e.customerId as string])[0]}`);

  it('materialises on create (baseline, no events), refuses duplicate names and stale versions', async () => {
    const s = await svc.createSegment(shopBound(tdb.prisma, shopA), { name: 'Big spenders', rule: parseRule('orders.total >= 100') });
    expect(s).toMatchObject({ name: 'Big spenders', rule: 'orders.total >= 100', memberCount: 2, version: 1 });
    const members = await db.segmentMember.findMany({ where: { segmentId: s.id } });
    expect(names(members.map((m) => m.customerId))).toEqual(['ann', 'ben']);
    expect(await events(s.id)).toEqual([]);
    await expect(
      svc.createSegment(shopBound(tdb.prisma, shopA), { name: 'Big spenders', rule: parseRule('age > 1') }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(svc.updateSegment(shopBound(tdb.prisma, shopA), { id: s.id, version: 7, name: 'x' })).rejects.toBeInstanceOf(
      VersionConflictError,
    );
    // A new rule moves members, with events.
    const u = await svc.updateSegment(shopBound(tdb.prisma, shopA), { id: s.id, version: 1, rule: parseRule('orders.total >= 200') });
    expect(u).toMatchObject({ version: 2, memberCount: 1, rule: 'orders.total >= 200' });
    expect(await events(s.id)).toEqual(['-ben']);
    await svc.deleteSegment(shopBound(tdb.prisma, shopA), s.id);
    expect(await db.segmentMember.count({ where: { segmentId: s.id } })).toBe(0);
  });

  it('a customer whose data changes enters and leaves (incremental refresh from the outbox), exactly once', async () => {
    const s = await svc.createSegment(shopBound(tdb.prisma, shopA), {
      name: 'VIP loyal',
      rule: parseRule("stage = LOYAL AND tags CONTAINS 'vip'"),
    });
    expect(s.memberCount).toBe(0);
    await customers.tagCustomer(db, (P.ben as C).id, ['vip']);
    expect(await svc.refreshChanged(shopBound(tdb.prisma, shopA))).toEqual({ entered: 1, left: 0 });
    expect(await events(s.id)).toEqual(['+ben']);
    // Nothing new: nothing happens (the segment's own events are not "changes").
    expect(await svc.refreshChanged(shopBound(tdb.prisma, shopA))).toEqual({ entered: 0, left: 0 });
    await customers.setStage(db, actor, (P.ben as C).id, 'ADVOCATE', 'referred two friends', 'MANUAL', { force: true });
    await customers.setStage(db, actor, (P.ann as C).id, 'LOYAL', 'long-term', 'MANUAL', { force: true });
    expect(await svc.refreshChanged(shopBound(tdb.prisma, shopA))).toEqual({ entered: 1, left: 1 });
    expect(await events(s.id)).toEqual(['+ben', '+ann', '-ben']);
    const payload = (
      await tdb.prisma.event.findFirstOrThrow({ where: { shopId: shopA, type: 'SEGMENT_ENTERED' }, orderBy: { id: 'desc' } })
    ).payload;
    expect(payload).toEqual({
      segmentId: svc.segmentGid(s.id),
      customerId: encodeGlobalID('Customer', (P.ann as C).id),
      segmentName: 'VIP loyal',
    });
    // Archiving makes a member leave.
    await customers.archiveCustomer(db, (P.ann as C).id, true);
    await svc.refreshChanged(shopBound(tdb.prisma, shopA));
    expect(await events(s.id)).toEqual(['+ben', '+ann', '-ben', '-ann']);
    await customers.archiveCustomer(db, (P.ann as C).id, false);
    // A full refresh agrees with the incremental one, and a second one is a no-op.
    const full = await svc.refreshSegment(shopBound(tdb.prisma, shopA), s.id, { emit: true });
    expect(full).toMatchObject({ entered: 1, left: 0, segment: { memberCount: 1 } });
    expect(await svc.refreshSegment(shopBound(tdb.prisma, shopA), s.id, { emit: true })).toMatchObject({ entered: 0, left: 0 });
  });

  it('relative dates move with time: the scheduled full refresh catches them', async () => {
    const s = await svc.createSegment(shopBound(tdb.prisma, shopA), { name: 'Recent buyers', rule: parseRule('lastOrderAt > -30d') });
    expect(s.memberCount).toBe(1); // ben (orders 5 and 10 days ago)
    const later = new Date(NOW.getTime() + 40 * 86_400_000);
    const sched = svc.createSegmentScheduler({ prisma: tdb.prisma, logger: { error() {} } as never, intervalMs: 0, fullRefreshMs: 1000 });
    const r = await sched.tick(later);
    expect(r.left).toBeGreaterThanOrEqual(1);
    expect(await events(s.id)).toEqual(['-ben']);
  });

  it('an erased member leaves at once: SEGMENT_LEFT in the erasure transaction, count corrected, no second event on refresh', async () => {
    const gone = await customers.createCustomer(db, actor, { email: 'gone@seg.test', stage: 'PARTNER' });
    const s = await svc.createSegment(shopBound(tdb.prisma, shopA), { name: 'Partners', rule: parseRule('stage = PARTNER') });
    expect(s.memberCount).toBe(1);
    const left = () => tdb.prisma.event.findMany({ where: { shopId: shopA, type: 'SEGMENT_LEFT', customerId: gone.id } });
    await customers.deleteCustomer(db, gone.id);
    expect((await left()).map((e) => e.payload)).toEqual([
      { segmentId: encodeGlobalID('Segment', s.id), customerId: encodeGlobalID('Customer', gone.id), segmentName: 'Partners' },
    ]);
    expect((await db.segment.findUniqueOrThrow({ where: { id: s.id } })).memberCount).toBe(0);
    await svc.refreshChanged(shopBound(tdb.prisma, shopA));
    expect(await left()).toHaveLength(1);
    expect((await db.segment.findUniqueOrThrow({ where: { id: s.id } })).memberCount).toBe(0);
  });

  it('concurrent refreshes of one segment serialise (advisory lock): events are written once', async () => {
    const s = await svc.createSegment(shopBound(tdb.prisma, shopA), { name: 'Prospects', rule: parseRule('stage = PROSPECT') });
    await customers.setStage(db, actor, (P.dan as C).id, 'PROSPECT', 'reset');
    const rs = await Promise.all([1, 2, 3].map(() => svc.refreshSegment(shopBound(tdb.prisma, shopA), s.id, { emit: true })));
    expect(rs.map((r) => r?.entered).sort()).toEqual([0, 0, 1]);
    expect(await events(s.id)).toEqual(['+dan']);
  });
});
