import type { ShopTx, TenantWrite } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb, type ScopedTx } from '../../db/tenant.ts';
import type { TenantSql } from '../../db/tenant-sql.ts';
import { tenantWrite } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import type { LifecycleStage, PartnerKind } from '../../generated/prisma/enums.ts';
import { COUNTED_WHERE } from '../orders/order.counting.ts';
import { compileRule } from '../segments/segment.compile.ts';
import { readShopSettings } from '../shops/shop-settings.ts';
import { RULE_STAGES, type RuleStage, type StageRule, stageRules } from './lifecycle.rules.ts';
import { getLifecycleSettings, type LifecycleSettings, lifecycleSettingsFrom } from './lifecycle.settings.ts';
import { applySql, type Scope } from './lifecycle.sql.ts';

/**
 * The automatic lifecycle ladder (docs/customers.md "The lifecycle ladder"). Stages follow facts,
 * evaluated set-based (lifecycle.sql.ts): by the background pass for whole shops, and after the
 * loyalty fold for the customers whose orders / interactions / referrals just changed.
 *
 * Manual overrides: when staff set a stage by hand, the facts' signature (counted orders, positive
 * word of mouth / reviews in the window, referred buyers, churn risk) is stored on the customer;
 * the automatic ladder leaves that customer alone while the signature is unchanged, and moves them
 * again (clearing it) once a fact changes: a new order, review, referred buyer or churn risk.
 */
export type { Scope };

/** Evaluates the ladder for `scope` in one statement; returns the number of customers moved. Run it in a transaction. */
export async function applyLifecycle(
  write: TenantWrite,
  scope: Scope,
  s: LifecycleSettings,
  now: Date = new Date(),
  opts: { quiet?: readonly string[] } = {},
): Promise<number> {
  if (scope.kind === 'customers' && scope.ids.length === 0) return 0;
  const rules = stageRules(s);
  // The customers moved: the rows of the Customer update (`upd`).
  return write((shop) => applySql(shop, scope, s, now, rules, opts.quiet), { count: 'upd' });
}

/** A whole shop (or some of its customers) in its own transaction, with the shop's settings. */
export async function evaluateLifecycle(prisma: PrismaClient, shopId: string, scope: Scope = { kind: 'shop' }, now?: Date) {
  const s = await getLifecycleSettings(forShop(prisma, shopId));
  return prisma.$transaction((tx) => applyLifecycle(tenantWrite(tx, shopId), scope, s, now), { timeout: 120_000, maxWait: 10_000 });
}

export type StageFacts = {
  orders: number;
  spanDays: number;
  positive: number;
  referrals: number;
  churnRisk: string;
  sig: string;
};

/** One customer's facts through the scoped client (the manual path; the same definitions as lifecycle.sql.ts). */
export async function stageFacts(t: ScopedTx, customerId: string, s: LifecycleSettings, now = new Date()): Promise<StageFacts> {
  const [agg, positive, referrals, metrics] = await Promise.all([
    t.order.aggregate({
      where: { customerId, ...COUNTED_WHERE },
      _count: { _all: true },
      _min: { placedAt: true },
      _max: { placedAt: true },
    }),
    t.interaction.count({
      where: {
        customerId,
        deletedAt: null,
        type: { in: ['WORD_OF_MOUTH', 'REVIEW'] },
        sentiment: 'POSITIVE',
        occurredAt: { gt: new Date(now.getTime() - s.advocateWindowDays * 86_400_000), lte: now },
      },
    }),
    t.customer.count({
      where: { sourceReferrerId: customerId, status: { not: 'MERGED' }, orders: { some: COUNTED_WHERE } },
    }),
    t.customerMetrics.findFirst({ where: { customerId }, select: { churnRisk: true } }),
  ]);
  const orders = agg._count._all;
  const first = agg._min.placedAt;
  const last = agg._max.placedAt;
  const spanDays = first && last ? Math.floor((last.getTime() - first.getTime()) / 86_400_000) : 0;
  const churnRisk = metrics?.churnRisk ?? 'LOW';
  return {
    orders,
    spanDays,
    positive,
    referrals,
    churnRisk,
    sig: `orders=${orders} positive=${positive} referrals=${referrals} churn=${churnRisk}`,
  };
}

const months = (days: number) => Math.round(days / 30.44);

/** Whether the shop's rule for a stage matches the customer (null: not known here). */
export type RuleMatch = (stage: RuleStage) => boolean | null;

/**
 * Why the facts do not support `stage` (null: they do, or the stage has no fact requirement).
 * Stages whose rule is the thresholds' default are judged from `f` (the same definitions as the
 * SQL); a custom rule by `match` (the segment compiler on this one customer).
 */
export function unsupported(stage: LifecycleStage, f: StageFacts, s: LifecycleSettings, match: RuleMatch = () => null): string | null {
  if (!(RULE_STAGES as readonly string[]).includes(stage)) return null;
  const rule = stageRules(s)[stage as RuleStage];
  const orders = `${f.orders} order${f.orders === 1 ? '' : 's'}${f.orders > 1 ? ` over ${months(f.spanDays)} months` : ''}`;
  if (rule.custom) return customUnsupported(rule, f, orders, match(stage as RuleStage));
  const loyal = f.orders >= s.loyalMinOrders && f.spanDays >= s.loyalMinSpanDays;
  const loyalNeeds = `LOYAL needs at least ${s.loyalMinOrders} orders spanning at least ${s.loyalMinSpanDays} days`;
  if (stage === 'LOYAL' && !loyal) return `The facts do not support LOYAL: ${orders}; ${loyalNeeds}`;
  if (stage === 'ADVOCATE' && !(loyal && f.positive >= s.advocateMinPositive)) {
    return `The facts do not support ADVOCATE: ${orders}, ${f.positive} positive reviews / word of mouth in ${s.advocateWindowDays} days; ADVOCATE needs LOYAL (${loyalNeeds.slice(12)}) and at least ${s.advocateMinPositive}`;
  }
  if (stage === 'STRATEGIC' && !(f.orders >= 1 && f.referrals >= s.strategicMinReferralsBought)) {
    return `The facts do not support STRATEGIC: ${f.referrals} referred customers bought; STRATEGIC needs at least ${s.strategicMinReferralsBought} (and an order of their own)`;
  }
  return null;
}

function customUnsupported(rule: StageRule, f: StageFacts, orders: string, matches: boolean | null): string | null {
  const floor = rule.stage === 'STRATEGIC' ? 1 : 2;
  const text = rule.text.length > 200 ? `${rule.text.slice(0, 199)}…` : rule.text;
  if (f.orders < floor)
    return `The facts do not support ${rule.stage}: ${orders}; ${rule.stage} needs ${floor === 1 ? 'an order of their own' : 'at least 2 orders'} whatever the rule`;
  if (matches === true) return null;
  if (matches === null) return `The shop's ${rule.stage} rule (${text}) could not be checked here`;
  return `The facts do not support ${rule.stage}: the shop's ${rule.stage} rule (${text}) does not match (${orders})`;
}

export type ManualStage = {
  partnerKind?: PartnerKind | null;
  force?: boolean | null;
  reason?: string | null;
  /** Raw reads of the shop (ctx.sql): needed to check a custom stage rule; without it such a move needs force. */
  sql?: TenantSql | null;
  /** @internal What `customRuleMatch` found before the move's transaction. */
  matched?: boolean | null;
};

/**
 * Before a manual move's transaction (the raw read cannot run inside the scoped transaction; on
 * PGlite's single connection it would wait for it): does the shop's custom rule for `stage` match
 * the customer? null when the stage has no custom rule or no `sql` is given.
 */
export async function customRuleMatch(db: ScopedDb, sql: TenantSql | null | undefined, customerId: string, stage: LifecycleStage) {
  if (
    !sql ||
    !(RULE_STAGES as readonly string[]).includes(stage) ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(customerId)
  )
    return null;
  const rule = stageRules(await getLifecycleSettings(db))[stage as RuleStage];
  return rule.custom ? ruleMatches(sql, rule, customerId) : null;
}

/** Evaluates the shop's rule for `stage` on one customer (the segment compiler, one statement). */
export async function ruleMatches(sql: TenantSql, rule: StageRule, customerId: string, now = new Date()): Promise<boolean> {
  const rows = await sql<{ id: string }>((shop) => {
    const c = compileRule(rule.rule, { shop, now, onlyCustomers: [customerId] });
    return Prisma.sql`SELECT c.id, c."shopId" FROM "Customer" c ${c.joins}
      WHERE c."shopId" = ${shop} AND c.id = ${customerId}::uuid AND ${c.where}`;
  });
  return rows.length > 0;
}

/**
 * Checks a manual stage move (setCustomerStage) against the facts and returns what to store:
 * LOYAL / ADVOCATE / STRATEGIC need facts that support them unless `force` with a reason; PARTNER
 * needs a partner kind (other stages clear it). Throws ValidationError and changes nothing otherwise.
 */
export async function checkManualStage(
  t: ScopedTx,
  customerId: string,
  stage: LifecycleStage,
  opts: ManualStage,
): Promise<{ partnerKind: PartnerKind | null; stageFactsAtManual: string; reasonNote: string | null }> {
  if (stage === 'PARTNER' && !opts.partnerKind) {
    throw ValidationError.field(
      ['input', 'partnerKind'],
      'PARTNER needs a partner kind (AGENT, DISTRIBUTOR, SHAREHOLDER or OTHER)',
      'required',
    );
  }
  if (stage !== 'PARTNER' && opts.partnerKind) {
    throw ValidationError.field(['input', 'partnerKind'], 'A partner kind goes only with the PARTNER stage');
  }
  const s = await getLifecycleSettings(t);
  const facts = await stageFacts(t, customerId, s);
  const why = unsupported(stage, facts, s, () => opts.matched ?? null);
  let reasonNote: string | null = null;
  if (why) {
    if (!opts.force)
      throw ValidationError.field(['input', 'stage'], `${why} (use force: true with a reason to override)`, 'facts_do_not_support');
    if (!opts.reason?.trim()) throw ValidationError.field(['input', 'reason'], 'A forced stage needs a reason', 'required');
    reasonNote = `forced: ${why.replace('The facts do not support ', 'facts do not support ')}`;
  }
  return { partnerKind: stage === 'PARTNER' ? (opts.partnerKind ?? null) : null, stageFactsAtManual: facts.sig, reasonNote };
}

/**
 * After the loyalty fold (modules/loyalty refreshLoyalty, inside its transaction): the customers
 * whose orders / interactions / referred customers just changed, with churn risk already current.
 */
export async function lifecycleAfterFold(t: ShopTx, ids: string[], now: Date) {
  return applyLifecycle(t.write, { kind: 'customers', ids }, lifecycleSettingsFrom(await readShopSettings(t.db)), now);
}
