import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { recordInteraction } from '../interactions/interaction.service.ts';
import { recomputeLoyalty, refreshLoyalty } from '../loyalty/loyalty.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import { stageRules } from './lifecycle.rules.ts';
import { createLifecycleScheduler } from './lifecycle.scheduler.ts';
import { evaluateLifecycle } from './lifecycle.service.ts';
import { DEFAULT_LIFECYCLE, getLifecycleSettings, updateLifecycleSettings } from './lifecycle.settings.ts';
import { factsSql } from './lifecycle.sql.ts';

/**
 * Hand-computed fixture, "now" = 2026-06-01T00:00Z, default thresholds (3 orders over 180 days,
 * 2 positive reviews / word of mouth in 365 days, 2 referred buyers):
 * - ann: orders 2025-09-01, 2026-01-01, 2026-04-01: 3 orders, span 212 days = 7 months -> LOYAL.
 * - ada: ann's orders + a positive REVIEW and a positive WORD_OF_MOUTH in May (a NEUTRAL review
 *   does not count) -> ADVOCATE.
 * - sam: 1 order (2026-05-01) + referred rf1, rf2 who bought -> STRATEGIC; rf3 referred, no order.
 * - tom: orders Mar 1, Apr 1, May 1: 3 orders over 61 days -> REPEAT (not LOYAL: span < 180).
 * - one: 1 order 2026-05-01 -> FIRST_PURCHASE; LOYAL by hand is refused.
 * - old: 1 order 2025-01-01: 516 days ≥ 2.5 × 90 (churn model default) -> HIGH -> CHURNED.
 * - par: legacy PARTNER (no partner kind), 1 order, referred pr1, pr2 who bought -> STRATEGIC (migration).
 * - agt: PARTNER with kind AGENT, same facts as par -> stays PARTNER.
 * - lead: no order -> never moved.
 */
let tdb: TestDatabase;
let db: ScopedDb;
let shopId: string;
const actor: customers.Actor = { staffId: null, source: 'api' };
const NOW = new Date('2026-06-01T00:00:00Z');
const d = (s: string) => new Date(`${s}T00:00:00Z`);
const ids: Record<string, string> = {};
let n = 0;

const order = (c: string, at: string) =>
  upsertOrder(db, actor, {
    externalId: `o-${++n}`,
    customerId: ids[c] as string,
    currency: 'EUR',
    placedAt: d(at),
    status: 'PAID',
    items: [{ name: 'Chair', quantity: 1, unitPrice: '100' }],
  } as never);
const touch = (c: string, type: string, at: string, sentiment: string) =>
  recordInteraction(db, actor, {
    customerId: ids[c] as string,
    channel: 'WEB',
    direction: 'INBOUND',
    type,
    occurredAt: d(at),
    sentiment,
  } as never);
const stage = async (c: string) => (await db.customer.findUniqueOrThrow({ where: { id: ids[c] as string } })).stage;
const lastMove = (c: string) =>
  db.stageTransition.findFirstOrThrow({ where: { customerId: ids[c] as string }, orderBy: [{ at: 'desc' }, { id: 'desc' }] });
const create = async (name: string, extra: Record<string, unknown> = {}) => {
  ids[name] = (await customers.createCustomer(db, actor, { email: `${name}@lc.test`, ...extra } as never)).id;
};
const referred = (by: string) => ({ source: { channel: 'REFERRAL', referrerCustomerId: ids[by] } });

beforeAll(async () => {
  tdb = await createTestDatabase();
  shopId = (await tdb.prisma.shop.create({ data: { name: 'LC', slug: 'lifecycle-svc' } })).id;
  db = forShop(tdb.prisma, shopId);
  for (const c of ['ann', 'ada', 'sam', 'tom', 'one', 'old', 'lead']) await create(c);
  await create('par', { stage: 'PARTNER' });
  await create('agt');
  for (const c of ['rf1', 'rf2', 'rf3']) await create(c, referred('sam'));
  for (const c of ['pr1', 'pr2']) await create(c, referred('par'));
  for (const c of ['ar1', 'ar2']) await create(c, referred('agt'));
  for (const c of ['ann', 'ada']) for (const at of ['2025-09-01', '2026-01-01', '2026-04-01']) await order(c, at);
  await touch('ada', 'REVIEW', '2026-05-10', 'POSITIVE');
  await touch('ada', 'WORD_OF_MOUTH', '2026-05-11', 'POSITIVE');
  await touch('ada', 'REVIEW', '2026-05-12', 'NEUTRAL');
  for (const c of ['sam', 'one', 'par', 'agt']) await order(c, '2026-05-01');
  for (const c of ['rf1', 'rf2', 'pr1', 'pr2', 'ar1', 'ar2']) await order(c, '2026-05-20');
  for (const at of ['2026-03-01', '2026-04-01', '2026-05-01']) await order('tom', at);
  await order('old', '2025-01-01');
  await customers.setStage(db, actor, ids.agt as string, 'PARTNER', 'Sells our chairs', 'MANUAL', { partnerKind: 'AGENT' });
  await recomputeLoyalty(shopBound(tdb.prisma, shopId), NOW);
}, 120_000);

afterAll(async () => {
  await tdb?.close();
});

describe('the automatic ladder', () => {
  it('promotes and demotes from the facts, with reasons, in one pass', async () => {
    const moved = await evaluateLifecycle(tdb.prisma, shopId, { kind: 'shop' }, NOW);
    expect(moved).toBe(5); // ann, ada (REPEAT -> LOYAL / ADVOCATE), sam, par (-> STRATEGIC), old (-> CHURNED); tom, one, agt, lead stay
    expect(await stage('ann')).toBe('LOYAL');
    expect((await lastMove('ann')).reason).toBe('3 orders over 7 months');
    expect(await stage('ada')).toBe('ADVOCATE');
    expect((await lastMove('ada')).reason).toBe('3 orders over 7 months and 2 positive reviews / word of mouth in 365 days');
    expect(await stage('sam')).toBe('STRATEGIC');
    expect((await lastMove('sam')).reason).toBe('2 referred customers bought');
    expect(await stage('tom')).toBe('REPEAT');
    expect(await stage('one')).toBe('FIRST_PURCHASE');
    expect(await stage('old')).toBe('CHURNED');
    expect((await lastMove('old')).reason).toMatch(/^Churn risk HIGH: /);
    expect(await stage('par')).toBe('STRATEGIC');
    expect((await lastMove('par')).reason).toBe('2 referred customers bought (was PARTNER with no partner kind: migrated to STRATEGIC)');
    expect(await stage('agt')).toBe('PARTNER');
    expect(await stage('lead')).toBe('PROSPECT');
    const t = await lastMove('ann');
    expect(t).toMatchObject({ fromStage: 'REPEAT', toStage: 'LOYAL', source: 'AUTOMATIC' });
    const events = await db.event.findMany({ where: { type: 'STAGE_CHANGED', customerId: ids.ann as string }, orderBy: { id: 'desc' } });
    expect(events[0]?.payload).toMatchObject({ from: 'REPEAT', to: 'LOYAL', source: 'AUTOMATIC' });
    // Idempotent: nothing moves the second time.
    expect(await evaluateLifecycle(tdb.prisma, shopId, { kind: 'shop' }, NOW)).toBe(0);
  });

  it('reactivates a churned customer on a new order, and stale metrics do not re-churn them', async () => {
    await order('old', '2026-05-30');
    expect(await stage('old')).toBe('REPEAT');
    expect((await lastMove('old')).reason).toMatch(/^Ordered again after churn/);
    // Metrics still say HIGH for one order: the pass leaves the customer alone.
    expect(await evaluateLifecycle(tdb.prisma, shopId, { kind: 'shop' }, NOW)).toBe(0);
    await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW); // the fold: churn risk LOW now, ladder evaluated
    expect(await stage('old')).toBe('REPEAT');
  });

  it('demotes an ADVOCATE whose positive reviews have left the window', async () => {
    // 400 days later ada's two positive interactions (May 2026) are older than 365 days: back to LOYAL.
    const later = new Date(NOW.getTime() + 400 * 86_400_000);
    expect(await evaluateLifecycle(tdb.prisma, shopId, { kind: 'customers', ids: [ids.ada as string] }, later)).toBe(1);
    expect(await stage('ada')).toBe('LOYAL');
    expect((await lastMove('ada')).reason).toBe(
      '3 orders over 7 months; 0 positive reviews / word of mouth in 365 days, 0 referred customers bought',
    );
    // Back at "now" the reviews count again.
    expect(await evaluateLifecycle(tdb.prisma, shopId, { kind: 'customers', ids: [ids.ada as string] }, NOW)).toBe(1);
    expect(await stage('ada')).toBe('ADVOCATE');
  });

  it('respects a manual move until a fact changes', async () => {
    await customers.setStage(db, actor, ids.ann as string, 'REPEAT', 'Asked not to be treated as a regular');
    expect(await evaluateLifecycle(tdb.prisma, shopId, { kind: 'shop' }, NOW)).toBe(0);
    expect(await stage('ann')).toBe('REPEAT');
    await order('ann', '2026-05-15'); // a new fact
    await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect(await stage('ann')).toBe('LOYAL');
    expect(await lastMove('ann')).toMatchObject({ source: 'AUTOMATIC', reason: '4 orders over 8 months' });
  });

  it('uses the shop thresholds', async () => {
    expect(await getLifecycleSettings(db)).toEqual(DEFAULT_LIFECYCLE);
    await expect(updateLifecycleSettings(db, { loyalMinOrders: 1 })).rejects.toBeInstanceOf(ValidationError);
    await updateLifecycleSettings(db, { loyalMinSpanDays: 60 });
    const s = createLifecycleScheduler({ prisma: tdb.prisma, logger: console as never, intervalMs: 0 });
    await s.tick(NOW);
    expect(await stage('tom')).toBe('LOYAL');
    expect((await lastMove('tom')).reason).toBe('3 orders over 2 months');
    await updateLifecycleSettings(db, { loyalMinSpanDays: null });
    expect((await getLifecycleSettings(db)).loyalMinSpanDays).toBe(180);
  });
});

describe('the facts', () => {
  it('are the same read for the whole shop (grouped passes) as for a list of customers (lookups)', async () => {
    const s = await getLifecycleSettings(db);
    const rules = stageRules(s);
    const sql = tenantSql(tdb.prisma, shopId);
    const read = (scope: Parameters<typeof factsSql>[1]) =>
      sql<Record<string, unknown>>(
        (shop) => Prisma.sql`WITH ${factsSql(shop, scope, s, NOW, rules)}
          SELECT "shopId", id, orders, "spanDays", positive, referrals, "churnRisk", "metricsOrders", loyal, advocate, strategic, months
          FROM signed ORDER BY id`,
      );
    const whole = await read({ kind: 'shop' });
    const listed = await read({ kind: 'customers', ids: Object.values(ids) });
    expect(whole.length).toBeGreaterThanOrEqual(9);
    // The fixture has every kind of fact: orders with a span, positive reviews, referred buyers.
    expect(whole.some((f) => Number(f.positive) > 0)).toBe(true);
    expect(whole.some((f) => Number(f.referrals) > 0)).toBe(true);
    expect(whole.some((f) => Number(f.spanDays) > 0)).toBe(true);
    expect(listed).toEqual(whole.filter((f) => Object.values(ids).includes(f.id as string)));
  });
});

describe('setting the stage by hand', () => {
  it('refuses LOYAL / ADVOCATE / STRATEGIC the facts cannot support, unless forced with a reason', async () => {
    const id = ids.one as string;
    const err = await customers.setStage(db, actor, id, 'LOYAL', 'VIP').catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues[0]).toMatchObject({ path: ['input', 'stage'], code: 'facts_do_not_support' });
    expect(err.message + JSON.stringify(err.issues)).toMatch(/1 order; LOYAL needs at least 3 orders spanning at least 180 days/);
    await expect(customers.setStage(db, actor, id, 'ADVOCATE', 'x')).rejects.toBeInstanceOf(ValidationError);
    await expect(customers.setStage(db, actor, id, 'STRATEGIC', 'x')).rejects.toBeInstanceOf(ValidationError);
    const noReason = await customers.setStage(db, actor, id, 'LOYAL', null, 'MANUAL', { force: true }).catch((e) => e);
    expect(noReason.issues[0]).toMatchObject({ path: ['input', 'reason'] });
    expect(await stage('one')).toBe('FIRST_PURCHASE');
    await customers.setStage(db, actor, id, 'LOYAL', 'Buys for the whole family', 'MANUAL', { force: true });
    expect(await stage('one')).toBe('LOYAL');
    expect((await lastMove('one')).reason).toMatch(/^Buys for the whole family \(forced: facts do not support LOYAL: 1 order;/);
    // Respected by the ladder while the facts stay.
    expect(await evaluateLifecycle(tdb.prisma, shopId, { kind: 'customers', ids: [id] }, NOW)).toBe(0);
  });

  it('allows LOYAL when the facts support it, and PARTNER only with a partner kind', async () => {
    await customers.setStage(db, actor, ids.tom as string, 'ADVOCATE', 'fan').catch((e) => expect(e).toBeInstanceOf(ValidationError));
    const p = await customers.setStage(db, actor, ids.sam as string, 'PARTNER', 'x').catch((e) => e);
    expect(p.issues[0]).toMatchObject({ path: ['input', 'partnerKind'] });
    const c = await customers.setStage(db, actor, ids.sam as string, 'PARTNER', 'Now distributes', 'MANUAL', {
      partnerKind: 'DISTRIBUTOR',
    });
    expect(c).toMatchObject({ stage: 'PARTNER', partnerKind: 'DISTRIBUTOR' });
    const back = await customers.setStage(db, actor, ids.sam as string, 'STRATEGIC', 'Stopped distributing');
    expect(back).toMatchObject({ stage: 'STRATEGIC', partnerKind: null });
  });
});
