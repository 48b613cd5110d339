import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shopBound } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { tenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { createTestDatabase, type TestDatabase } from '../../testing.ts';
import * as customers from '../customers/customer.service.ts';
import { refreshLoyalty } from '../loyalty/loyalty.service.ts';
import { upsertOrder } from '../orders/order.service.ts';
import { countMatching } from '../segments/segment.compile.ts';
import { parseRule, printRule } from '../segments/segment.rule.ts';
import { stageRules } from './lifecycle.rules.ts';
import { evaluateLifecycle } from './lifecycle.service.ts';
import { DEFAULT_LIFECYCLE, getLifecycleSettings, updateLifecycleSettings } from './lifecycle.settings.ts';

/**
 * Per-shop stage rules in the segment rule language. Hand-computed fixture, "now" = 2026-06-01:
 * - ann: 3 orders of 100 (2025-09-01, 2026-01-01, 2026-04-01): 212 days -> LOYAL by default;
 *   with LOYAL = `orders.count >= 2 AND orders.total >= 300`: 300 >= 300 -> still LOYAL.
 * - ted: 3 orders of 50 on the same days: LOYAL by default; custom: 150 < 300 -> REPEAT.
 * - kim: 2 orders (2026-04-01 200, 2026-05-01 150): span 30 days -> REPEAT by default; custom:
 *   350 -> LOYAL ("2 orders over 1 months (shop rule: ...)").
 * - lou: 2 orders of 100 (2026-04-01, 2026-05-01): REPEAT both ways; a third order of 100 (May 20)
 *   folded by the loyalty refresh (the event-driven path) makes 300 -> LOYAL by the custom rule.
 * - one: 1 order of 1000: FIRST_PURCHASE whatever the rule (LOYAL `orders.total >= 500` still
 *   needs two orders: one purchase never counts).
 */
let tdb: TestDatabase;
let db: ScopedDb;
let shopId: string;
const actor: customers.Actor = { staffId: null, source: 'api' };
const NOW = new Date('2026-06-01T00:00:00Z');
const ids: Record<string, string> = {};
let n = 0;

const order = (c: string, at: string, price: string) =>
  upsertOrder(db, actor, {
    externalId: `r-${++n}`,
    customerId: ids[c] as string,
    currency: 'EUR',
    placedAt: new Date(`${at}T00:00:00Z`),
    status: 'PAID',
    items: [{ name: 'Chair', quantity: 1, unitPrice: price }],
  } as never);
const stage = async (c: string) => (await db.customer.findUniqueOrThrow({ where: { id: ids[c] as string } })).stage;
const lastMove = (c: string) =>
  db.stageTransition.findFirstOrThrow({ where: { customerId: ids[c] as string }, orderBy: [{ at: 'desc' }, { id: 'desc' }] });
const evaluate = () => evaluateLifecycle(tdb.prisma, shopId, { kind: 'shop' }, NOW);
const CUSTOM_LOYAL = 'orders.count >= 2 and orders.total >= 300';

beforeAll(async () => {
  tdb = await createTestDatabase();
  shopId = (await tdb.prisma.shop.create({ data: { name: 'Rules', slug: 'lifecycle-rules' } })).id;
  db = forShop(tdb.prisma, shopId);
  for (const c of ['ann', 'ted', 'kim', 'lou', 'one'])
    ids[c] = (await customers.createCustomer(db, actor, { email: `${c}@rules.test` } as never)).id;
  for (const at of ['2025-09-01', '2026-01-01', '2026-04-01']) {
    await order('ann', at, '100');
    await order('ted', at, '50');
  }
  await order('kim', '2026-04-01', '200');
  await order('kim', '2026-05-01', '150');
  await order('lou', '2026-04-01', '100');
  await order('lou', '2026-05-01', '100');
  await order('one', '2026-05-01', '1000');
}, 120_000);

afterAll(async () => {
  await tdb?.close();
});

describe('stage rules', () => {
  it('have documented defaults built from the thresholds, which decide as before', async () => {
    const s = await getLifecycleSettings(db);
    expect(s).toEqual(DEFAULT_LIFECYCLE);
    const r = stageRules(s);
    expect(r.LOYAL).toMatchObject({ text: 'orders.count >= 3 AND orders.spanDays >= 180', isDefault: true, custom: false });
    expect(r.ADVOCATE).toMatchObject({
      text: 'orders.count >= 3 AND orders.spanDays >= 180 AND positiveWordOfMouth.count(within = 365d) >= 2',
      isDefault: true,
      custom: false,
    });
    expect(r.STRATEGIC).toMatchObject({ text: 'referredBuyers.count >= 2', isDefault: true, custom: false });
    // The default texts parse back to themselves (they are ordinary segment rules).
    for (const k of ['LOYAL', 'ADVOCATE', 'STRATEGIC'] as const) expect(printRule(parseRule(r[k].text))).toBe(r[k].text);
    expect(await evaluate()).toBe(2); // ann, ted: REPEAT -> LOYAL
    expect(await stage('ann')).toBe('LOYAL');
    expect(await stage('ted')).toBe('LOYAL');
    expect((await lastMove('ted')).reason).toBe('3 orders over 7 months');
    expect(await stage('kim')).toBe('REPEAT');
    expect(await stage('one')).toBe('FIRST_PURCHASE');
    // The new segment fields agree: ann and ted match the LOYAL rule as a segment.
    expect(await countMatching(tenantSql(tdb.prisma, shopId), r.LOYAL.rule, NOW)).toBe(2);
  });

  it('a custom LOYAL rule changes who is promoted (and ADVOCATE follows it), with the rule in the reason', async () => {
    const s = await updateLifecycleSettings(db, { rules: [{ stage: 'LOYAL', rule: CUSTOM_LOYAL }] });
    expect(s.rules).toEqual({ LOYAL: 'orders.count >= 2 AND orders.total >= 300' });
    const r = stageRules(s);
    expect(r.LOYAL).toMatchObject({ isDefault: false, custom: true, defaultText: 'orders.count >= 3 AND orders.spanDays >= 180' });
    expect(r.ADVOCATE.text).toBe('orders.count >= 2 AND orders.total >= 300 AND positiveWordOfMouth.count(within = 365d) >= 2');
    expect(await evaluate()).toBe(2); // kim up, ted down
    expect(await stage('kim')).toBe('LOYAL');
    expect((await lastMove('kim')).reason).toBe('2 orders over 1 months (shop rule: orders.count >= 2 AND orders.total >= 300)');
    expect(await stage('ted')).toBe('REPEAT');
    expect((await lastMove('ted')).reason).toBe("3 orders over 7 months (the shop's LOYAL rule does not match)");
    expect(await stage('ann')).toBe('LOYAL');
    expect(await stage('lou')).toBe('REPEAT');
    expect(await evaluate()).toBe(0);
  });

  it('the event-driven evaluation (after the loyalty fold) uses the shop rule too', async () => {
    await order('lou', '2026-05-20', '100');
    expect(await stage('lou')).toBe('REPEAT');
    await refreshLoyalty(shopBound(tdb.prisma, shopId), NOW);
    expect(await stage('lou')).toBe('LOYAL');
  });

  it('one purchase never makes LOYAL, whatever the rule', async () => {
    await updateLifecycleSettings(db, { rules: [{ stage: 'LOYAL', rule: 'orders.total >= 500' }] });
    await evaluate();
    expect(await stage('one')).toBe('FIRST_PURCHASE');
    const err = await customers
      .setStage(db, actor, ids.one as string, 'LOYAL', 'VIP', 'MANUAL', { sql: tenantSql(tdb.prisma, shopId) })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues[0]).toMatchObject({ path: ['input', 'stage'], code: 'facts_do_not_support' });
    expect(err.issues[0].message).toMatch(/LOYAL needs at least 2 orders whatever the rule/);
  });

  it('a manual move is checked against the custom rule', async () => {
    await updateLifecycleSettings(db, { rules: [{ stage: 'LOYAL', rule: CUSTOM_LOYAL }] });
    await evaluate();
    const sql = tenantSql(tdb.prisma, shopId);
    // ted (150 spent) does not match: refused with the rule named; with force and a reason it is recorded.
    const err = await customers.setStage(db, actor, ids.ted as string, 'LOYAL', 'VIP', 'MANUAL', { sql }).catch((e) => e);
    expect(err.issues[0].message).toMatch(
      /the shop's LOYAL rule \(orders.count >= 2 AND orders.total >= 300\) does not match \(3 orders over 7 months\)/,
    );
    // kim matches: staff may set LOYAL again after moving her down (a caller without raw reads cannot check the rule: refused).
    await customers.setStage(db, actor, ids.kim as string, 'REPEAT', 'test', 'MANUAL', { sql });
    const unchecked = await customers.setStage(db, actor, ids.kim as string, 'LOYAL', 'back').catch((e) => e);
    expect(unchecked.issues[0].message).toMatch(/could not be checked here/);
    const kim = await customers.setStage(db, actor, ids.kim as string, 'LOYAL', 'back', 'MANUAL', { sql });
    expect(kim.stage).toBe('LOYAL');
  });

  it('refuses rules that do not parse or check, and stages without rules, changing nothing', async () => {
    const before = await getLifecycleSettings(db);
    const cases: [Record<string, unknown>, string[], string][] = [
      [{ stage: 'LOYAL', rule: 'orders.count >= ' }, ['input', 'rules', '0', 'rule'], 'syntax'],
      [{ stage: 'ADVOCATE', rule: 'reviewz.count >= 2' }, ['input', 'rules', '0', 'rule'], 'unknown_field'],
      [{ stage: 'LOYAL', rule: 'stage = LOYAL' }, ['input', 'rules', '0', 'rule'], 'bad_field'],
      [{ stage: 'REPEAT', rule: 'orders.count >= 2' }, ['input', 'rules', '0', 'stage'], 'no_rule_for_stage'],
    ];
    for (const [rule, path, code] of cases) {
      const err = await updateLifecycleSettings(db, { loyalMinOrders: 5, rules: [rule as never] }).catch((e) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err.issues[0]).toMatchObject({ path, code });
    }
    expect(await getLifecycleSettings(db)).toEqual(before);
  });

  it('null restores the defaults, and the defaults decide as before', async () => {
    const s = await updateLifecycleSettings(db, { rules: null });
    expect(s.rules).toBeUndefined();
    expect(await getLifecycleSettings(db)).toEqual(DEFAULT_LIFECYCLE);
    await evaluate();
    expect(await stage('ann')).toBe('LOYAL');
    expect(await stage('ted')).toBe('LOYAL');
    expect(await stage('lou')).toBe('REPEAT'); // 3 orders over 49 days
    // kim's manual LOYAL stays: the facts (orders, reviews, referrals, churn risk) have not changed since.
    expect(await stage('kim')).toBe('LOYAL');
  });
});
