import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import { loader, perRequest } from '../../db/loaders.ts';
import type { CustomerMetrics, PointsAccount } from '../../generated/prisma/client.ts';
import * as E from '../../generated/prisma/enums.ts';
import { checkPageSize } from '../common/graphql-helpers.ts';
import { CustomerNode, LifecycleStageEnum, SourceChannelEnum } from '../customers/customer.type.ts';
import { InteractionTypeEnum } from '../interactions/interaction.type.ts';
import { type Fact, indicatorScores, loadEvidence, refreshLoyalty, type ShopKpis } from './loyalty.service.ts';
import { getLoyaltySettings, INDICATORS, type Indicator, type LoyaltySettings, tierFor } from './loyalty.settings.ts';

/**
 * Loyalty's GraphQL objects (scores, facts, RFM, points, tiers, settings, KPIs), the loyalty and
 * points fields on Customer, and the per-request freshness and loaders they read through. Queries,
 * mutations and subscriptions are in loyalty.graphql.ts.
 */
// ---------------------------------------------------------------------------------------------
// Freshness and loaders

/** Folds the shop's new orders / interactions into metrics and points once per request, before loyalty reads. */
export const ensureFresh = (ctx: Context) => perRequest(ctx, 'loyalty.fresh', () => refreshLoyalty(ctx.shop));
export const settings = (ctx: Context) => perRequest(ctx, 'loyalty.settings', () => getLoyaltySettings(ctx.db));

type MetricsRow = CustomerMetrics & { id: string };
export const metricsLoader = (ctx: Context) =>
  loader<MetricsRow>(ctx, 'loyalty.metrics', async (ids) => {
    await ensureFresh(ctx);
    const rows = await ctx.db.customerMetrics.findMany({ where: { customerId: { in: [...ids] } } });
    return rows.map((r) => ({ ...r, id: r.customerId }));
  });

const evidenceLoader = (ctx: Context) =>
  loader<{ id: string; facts: Fact[] }>(ctx, 'loyalty.evidence', async (ids) => {
    const facts = await loadEvidence(ctx.sql, ids);
    const by = new Map<string, Fact[]>(ids.map((id) => [id, []]));
    for (const f of facts) by.get(f.customerId)?.push(f);
    return [...by].map(([id, facts]) => ({ id, facts }));
  });

const accountLoader = (ctx: Context) =>
  loader<PointsAccount & { id: string }>(ctx, 'loyalty.accounts', async (ids) => {
    await ensureFresh(ctx);
    const rows = await ctx.db.pointsAccount.findMany({ where: { customerId: { in: [...ids] } } });
    return rows.map((r) => ({ ...r, id: r.customerId }));
  });

// ---------------------------------------------------------------------------------------------
// Types

export const LoyaltyIndicatorEnum = builder.enumType('LoyaltyIndicator', {
  description: 'The seven loyalty indicators; each is a raw count of facts, normalised to 0-100 by the shop’s target.',
  values: {
    ADD_ON_PURCHASES: { value: 'addOnPurchases', description: 'Non-cancelled orders with at least one add-on item (OrderItem.addOn).' },
    QA_PARTICIPATION: { value: 'qaParticipation', description: 'QA_PARTICIPATION interactions (online Q&A and exchanges).' },
    POSITIVE_WORD_OF_MOUTH: { value: 'positiveWordOfMouth', description: 'WORD_OF_MOUTH or REVIEW interactions with POSITIVE sentiment.' },
    EVENT_PARTICIPATION: { value: 'eventParticipation', description: 'EVENT_ATTENDANCE interactions (online and offline events).' },
    REFERRALS_BOUGHT: {
      value: 'referralsBought',
      description: 'Customers referred by this one (source referrer) with at least one non-cancelled order.',
    },
    SUGGESTIONS: { value: 'suggestions', description: 'SUGGESTION interactions (constructive suggestions).' },
    SURVEYS_COMPLETED: {
      value: 'surveysCompleted',
      description: 'SURVEY_RESPONSE interactions, except those with metadata {"completed": false}.',
    },
  } as const,
});

export const ChurnRiskEnum = builder.enumType(E.ChurnRisk, {
  name: 'ChurnRisk',
  description:
    'Churn early warning. Points: days since the last order ≥ highFactor × the customer’s typical gap: 2 (≥ mediumFactor ×: 1); inbound interactions in the last window below half of the window before: 1; complaints, disputes or negative interactions in the window: 1 (≥ negativeHigh: 2); storefront visits in the last 30 days below half the monthly average of the 90 days before (≥ 3 visits then): visitDropPoints (default 1). HIGH: rhythm 2 or 3+ points; MEDIUM: 1+; LOW otherwise and for customers who never bought.',
});
export const PointsMovementKindEnum = builder.enumType(E.PointsMovementKind, {
  name: 'PointsMovementKind',
  description:
    'EARN_ORDER: per-shop rate on a non-cancelled order. EARN_ACTION: rewarded actions (surveys, reviews, referrals that bought). REDEEM, EXPIRE, ADJUST (manual, with a reason; also order reversals).',
});

const FactRef = builder.objectRef<Fact>('LoyaltyFact').implement({
  description: 'One fact behind an indicator: the interaction, order or referred customer counted.',
  fields: (t) => ({
    kind: t.string({ description: 'Interaction, Order or Customer.', resolve: (f) => f.kind }),
    id: t.id({ description: 'Global id of the interaction, order or referred customer.', resolve: (f) => encodeGlobalID(f.kind, f.id) }),
    at: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it happened (a referral: the referred customer’s first order).',
      resolve: (f) => f.at,
    }),
    detail: t.string({ nullable: true, description: 'Interaction type or order externalId.', resolve: (f) => f.detail }),
  }),
});

type IndicatorView = { customerId: string; indicator: Indicator; value: number; score: number; weight: number; target: number };

const IndicatorRef = builder.objectRef<IndicatorView>('LoyaltyIndicatorScore').implement({
  description: 'One indicator of a customer: raw count, normalised score and the facts behind it.',
  fields: (t) => ({
    name: t.field({ type: LoyaltyIndicatorEnum, resolve: (i) => i.indicator as never }),
    value: t.int({ description: 'Raw count (as of computedAt).', resolve: (i) => i.value }),
    score: t.int({ description: 'min(100, round(100 × value / target)).', resolve: (i) => i.score }),
    target: t.int({ description: 'The shop’s target: the count that scores 100.', resolve: (i) => i.target }),
    weight: t.float({ description: 'The shop’s weight of this indicator in the loyalty score.', resolve: (i) => i.weight }),
    evidence: t.field({
      type: [FactRef],
      description: 'The facts counted, newest first (at most 10; loaded for a whole list of customers at once).',
      resolve: async (i, _a, ctx) => {
        const row = await evidenceLoader(ctx).load(i.customerId);
        return (row?.facts ?? []).filter((f) => f.indicator === i.indicator);
      },
    }),
  }),
});

type LoyaltyView = { row: MetricsRow; settings: LoyaltySettings };

const RfmRef = builder.objectRef<MetricsRow>('Rfm').implement({
  description:
    'Recency / frequency / monetary value over non-cancelled orders, scored 1-5 by quintiles among the shop’s buyers (0 for customers who never bought). Quintile boundaries come from the last full recompute.',
  fields: (t) => ({
    recencyDays: t.int({ nullable: true, description: 'Whole days since the last order.', resolve: (r) => r.recencyDays }),
    frequency: t.int({ resolve: (r) => r.frequency }),
    monetary: t.field({ type: 'Decimal', resolve: (r) => r.monetary }),
    recencyScore: t.int({ resolve: (r) => r.recencyScore }),
    frequencyScore: t.int({ resolve: (r) => r.frequencyScore }),
    monetaryScore: t.int({ resolve: (r) => r.monetaryScore }),
    code: t.string({ nullable: true, description: 'e.g. "543"; null for customers who never bought.', resolve: (r) => r.rfm }),
  }),
});

const CustomerLoyaltyRef = builder.objectRef<LoyaltyView>('CustomerLoyalty').implement({
  description: 'A customer’s loyalty metrics (materialised; see computedAt). Every score shows the indicators and facts it came from.',
  fields: (t) => ({
    score: t.int({
      description: 'Loyalty score 0-100: round(Σ weight × indicator score / Σ weight), weights per shop (loyaltySettings).',
      resolve: (v) => v.row.loyaltyScore,
    }),
    indicators: t.field({
      type: [IndicatorRef],
      resolve: (v) => indicatorScores(v.row, v.settings).map((i) => ({ ...i, customerId: v.row.customerId })),
    }),
    rfm: t.field({ type: RfmRef, resolve: (v) => v.row }),
    averageOrderValue: t.field({ type: 'Decimal', resolve: (v) => v.row.averageOrderValue }),
    lifetimeValue: t.field({
      type: 'Decimal',
      description: 'Historic: sum of non-cancelled order totals.',
      resolve: (v) => v.row.lifetimeValue,
    }),
    predictedLifetimeValue: t.field({
      type: 'Decimal',
      description:
        'lifetimeValue + averageOrderValue × (predictionHorizonDays / typical gap) × survival (1 / 0.5 / 0.2 for LOW / MEDIUM / HIGH churn risk).',
      resolve: (v) => v.row.predictedLifetimeValue,
    }),
    addOnRatio: t.float({ description: 'Share of orders with an add-on item (0-1).', resolve: (v) => v.row.addOnRatio }),
    typicalGapDays: t.float({
      nullable: true,
      description: '(last − first order) / (orders − 1); null below two orders.',
      resolve: (v) => v.row.typicalGapDays,
    }),
    churnRisk: t.field({ type: ChurnRiskEnum, resolve: (v) => v.row.churnRisk }),
    churnReasons: t.stringList({ description: 'Why the risk is what it is (empty when LOW).', resolve: (v) => v.row.churnReasons }),
    visitsLast30Days: t.int({
      description: 'Storefront visits (distinct sessions of behaviour events stitched to the customer) in the last 30 days.',
      resolve: (v) => v.row.visitsLast30Days,
    }),
    visitsMonthlyAverage: t.float({
      description:
        'Monthly average of storefront visits in the 90 days before the last 30 (visits / 3). Visits falling below half of it are a churn input (ChurnSettings.visitDropPoints).',
      resolve: (v) => Math.round((v.row.visitsPrevious90Days / 3) * 10) / 10,
    }),
    computedAt: t.field({ type: 'DateTime', resolve: (v) => v.row.computedAt }),
  }),
});

type TierView = LoyaltySettings['tiers'][number];
const TierRef = builder.objectRef<TierView>('LoyaltyTier').implement({
  description: 'A tier: reached at minPoints lifetime earned points.',
  fields: (t) => ({
    name: t.exposeString('name'),
    minPoints: t.exposeInt('minPoints'),
    benefits: t.exposeString('benefits'),
  }),
});

export const PointsMovementObject = builder.prismaObject('PointsMovement', {
  description: 'One movement of the points ledger (append-only).',
  fields: (t) => ({
    id: t.id({ resolve: (m) => encodeGlobalID('PointsMovement', m.id) }),
    kind: t.expose('kind', { type: PointsMovementKindEnum }),
    points: t.exposeInt('points', { description: 'Signed: positive earns, negative spends.' }),
    balanceAfter: t.exposeInt('balanceAfter'),
    reason: t.exposeString('reason', { nullable: true }),
    orderId: t.id({ nullable: true, resolve: (m) => (m.orderId ? encodeGlobalID('Order', m.orderId) : null) }),
    interactionId: t.id({ nullable: true, resolve: (m) => (m.interactionId ? encodeGlobalID('Interaction', m.interactionId) : null) }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const TierChangeObject = builder.prismaObject('TierChange', {
  fields: (t) => ({
    fromTier: t.exposeString('fromTier', { nullable: true }),
    toTier: t.exposeString('toTier', { nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

type PointsView = { customerId: string; account: PointsAccount | null; settings: LoyaltySettings };

const PointsRef = builder.objectRef<PointsView>('CustomerPoints').implement({
  description: 'A customer’s points: balance (never negative), lifetime earned points, tier and the ledger.',
  fields: (t) => ({
    balance: t.int({ resolve: (p) => p.account?.balance ?? 0 }),
    lifetimeEarned: t.int({
      description: 'Earned minus reversals and negative adjustments; decides the tier.',
      resolve: (p) => p.account?.lifetimeEarned ?? 0,
    }),
    tier: t.field({
      type: TierRef,
      nullable: true,
      resolve: (p) => p.settings.tiers.find((x) => x.name === (p.account?.tier ?? tierFor(p.settings.tiers, 0))) ?? null,
    }),
    nextTier: t.field({
      type: TierRef,
      nullable: true,
      description: 'The next tier up, if any.',
      resolve: (p) => p.settings.tiers.find((x) => x.minPoints > (p.account?.lifetimeEarned ?? 0)) ?? null,
    }),
    movements: t.prismaConnection(
      {
        type: PointsMovementObject,
        cursor: 'id',
        description: 'The ledger, newest first.',
        args: { kinds: t.arg({ type: [PointsMovementKindEnum] }) },
        totalCount: (p, args, ctx) =>
          ctx.db.pointsMovement.count({ where: { customerId: p.customerId, ...(args.kinds?.length ? { kind: { in: args.kinds } } : {}) } }),
        resolve: (query, p, args, ctx) => {
          checkPageSize(args);
          return ctx.db.pointsMovement.findMany({
            ...query,
            where: { customerId: p.customerId, ...(args.kinds?.length ? { kind: { in: args.kinds } } : {}) },
            orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          });
        },
      },
      { name: 'PointsMovementConnection' },
      { name: 'PointsMovementEdge' },
    ),
    tierHistory: t.prismaField({
      type: [TierChangeObject],
      description: 'Tier moves, newest first (at most 50).',
      resolve: (query, p, _a, ctx) =>
        ctx.db.tierChange.findMany({ ...query, where: { customerId: p.customerId }, orderBy: { at: 'desc' }, take: 50 }),
    }),
  }),
});

builder.prismaObjectFields(CustomerNode, (t) => ({
  loyalty: t.field({
    authScopes: { scope: 'loyalty:read' },
    type: CustomerLoyaltyRef,
    nullable: true,
    description:
      'Loyalty score with its indicators and facts, RFM, values and churn warning; null until computed (recomputeLoyalty). Secret key with loyalty:read.',
    resolve: async (c, _a, ctx) => {
      const [row, s] = await Promise.all([metricsLoader(ctx).load(c.id), settings(ctx)]);
      return row ? { row, settings: s } : null;
    },
  }),
  points: t.field({
    authScopes: { scope: 'loyalty:read' },
    type: PointsRef,
    description: 'Points balance, tier and ledger. Secret key with loyalty:read.',
    resolve: async (c, _a, ctx) => {
      const [account, s] = await Promise.all([accountLoader(ctx).load(c.id), settings(ctx)]);
      return { customerId: c.id, account, settings: s };
    },
  }),
}));

// Settings

const perIndicatorObject = (name: string, description: string, pick: (s: LoyaltySettings) => Record<Indicator, number>, float: boolean) =>
  builder.objectRef<LoyaltySettings>(name).implement({
    description,
    fields: (t) =>
      Object.fromEntries(
        INDICATORS.map((k) => [k, float ? t.float({ resolve: (s) => pick(s)[k] }) : t.int({ resolve: (s) => pick(s)[k] })]),
      ) as never,
  });
const WeightsRef = perIndicatorObject(
  'LoyaltyWeights',
  'Relative weight of each indicator in the loyalty score (0 leaves it out).',
  (s) => s.weights,
  true,
);
const TargetsRef = perIndicatorObject('LoyaltyTargets', 'The raw count at which each indicator scores 100.', (s) => s.targets, false);

const ChurnSettingsRef = builder.objectRef<LoyaltySettings['churn']>('ChurnSettings').implement({
  description: 'Churn early-warning thresholds (see ChurnRisk).',
  fields: (t) => ({
    mediumFactor: t.exposeFloat('mediumFactor'),
    highFactor: t.exposeFloat('highFactor'),
    defaultGapDays: t.exposeInt('defaultGapDays', { description: 'Typical gap assumed for one-order customers.' }),
    minGapDays: t.exposeInt('minGapDays'),
    windowDays: t.exposeInt('windowDays', { description: 'Window for falling engagement and negative interactions.' }),
    negativeHigh: t.exposeInt('negativeHigh'),
    createFollowUp: t.exposeBoolean('createFollowUp', { description: 'Create a retention follow-up when a customer crosses into HIGH.' }),
    followUpDueDays: t.exposeInt('followUpDueDays'),
    visitDropPoints: t.exposeInt('visitDropPoints', {
      description:
        'Churn points (0-2, default 1) when storefront visits in the last 30 days fall below half the monthly average of the 90 days before (which had at least 3 visits); 0 ignores visits.',
    }),
    abandonedCheckoutHours: t.exposeInt('abandonedCheckoutHours', {
      description: 'A stitched CHECKOUT_STARTED without an order within this many hours emits CHECKOUT_ABANDONED (default 4).',
    }),
  }),
});

type ActionPoints = { type: string; points: number };
const ActionPointsRef = builder.objectRef<ActionPoints>('ActionPoints').implement({
  fields: (t) => ({ type: t.field({ type: InteractionTypeEnum, resolve: (a) => a.type as never }), points: t.exposeInt('points') }),
});

const PointsRulesRef = builder.objectRef<LoyaltySettings['points']>('PointsRules').implement({
  description: 'How points are earned and when they expire.',
  fields: (t) => ({
    perCurrencyUnit: t.exposeFloat('perCurrencyUnit', {
      description: 'Points per currency unit of a non-cancelled order total (floored); reversed when the order is cancelled or refunded.',
    }),
    actions: t.field({
      type: [ActionPointsRef],
      description: 'Points for recorded interactions of these types (an incomplete survey earns none).',
      resolve: (p) => Object.entries(p.actions).map(([type, points]) => ({ type, points: points as number })),
    }),
    referralPurchase: t.exposeInt('referralPurchase', {
      description: 'For the referrer when a referred customer places an order (once per referred customer).',
    }),
    expiryDays: t.exposeInt('expiryDays', { nullable: true, description: 'Earned points expire after this many days (null: never).' }),
  }),
});

export const LoyaltySettingsRef = builder.objectRef<LoyaltySettings>('LoyaltySettings').implement({
  description: 'Per-shop loyalty settings (defaults where not set).',
  fields: (t) => ({
    weights: t.field({ type: WeightsRef, resolve: (s) => s }),
    targets: t.field({ type: TargetsRef, resolve: (s) => s }),
    churn: t.field({ type: ChurnSettingsRef, resolve: (s) => s.churn }),
    predictionHorizonDays: t.exposeInt('predictionHorizonDays'),
    points: t.field({ type: PointsRulesRef, resolve: (s) => s.points }),
    tiers: t.field({ type: [TierRef], resolve: (s) => s.tiers }),
  }),
});

// KPIs

type KpiView = ShopKpis & { from: Date; to: Date };
const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
const FUNNEL = ['SUSPECT', 'PROSPECT', 'FIRST_PURCHASE', 'REPEAT', 'LOYAL', 'ADVOCATE', 'STRATEGIC', 'PARTNER'] as const;

type SourceKpi = ShopKpis['sources'][number];
const SourceKpiRef = builder.objectRef<SourceKpi>('AcquisitionSourceKpi').implement({
  fields: (t) => ({
    channel: t.field({
      type: SourceChannelEnum,
      nullable: true,
      description: 'null: no source recorded.',
      resolve: (s) => s.channel as never,
    }),
    leads: t.exposeInt('leads', { description: 'Customers created in the range with this source.' }),
    conversions: t.exposeInt('conversions', { description: 'Of those, customers with a non-cancelled order before `to`.' }),
    conversionRate: t.float({ nullable: true, resolve: (s) => ratio(s.conversions, s.leads) }),
  }),
});

type VisitorSourceKpi = ShopKpis['visitorSources'][number];
const VisitorSourceKpiRef = builder.objectRef<VisitorSourceKpi>('VisitorSourceKpi').implement({
  description:
    "Storefront visitor-to-lead conversion for one source. A visitor (anonymous visitor id) counts once, under the source of their first behaviour event in the range: its utmSource (lower-cased), else the referrer's host (without www.), else null (direct / unknown).",
  fields: (t) => ({
    source: t.string({ nullable: true, description: 'utmSource, else referrer host; null: direct or unknown.', resolve: (s) => s.source }),
    visitors: t.exposeInt('visitors', {
      description: 'Distinct visitors with a behaviour event in the range whose first event there had this source.',
    }),
    leads: t.exposeInt('leads', {
      description:
        'Of those, visitors stitched to a customer created at or after their first event in the range and before `to` (became leads).',
    }),
    buyers: t.exposeInt('buyers', {
      description:
        'Of those, visitors stitched to a customer with a counted order placed at or after their first event in the range and before `to`.',
    }),
    leadRate: t.float({ nullable: true, description: 'leads / visitors.', resolve: (s) => ratio(s.leads, s.visitors) }),
    buyerRate: t.float({ nullable: true, description: 'buyers / visitors.', resolve: (s) => ratio(s.buyers, s.visitors) }),
  }),
});

type FunnelStage = { stage: string; count: number; reached: number; conversionFromPrevious: number | null };
const FunnelStageRef = builder.objectRef<FunnelStage>('FunnelStage').implement({
  fields: (t) => ({
    stage: t.field({ type: LifecycleStageEnum, resolve: (f) => f.stage as never }),
    count: t.exposeInt('count', { description: 'Active customers in this stage now.' }),
    reached: t.exposeInt('reached', {
      description: 'Active customers at this stage or beyond (CHURNED counts as having reached FIRST_PURCHASE).',
    }),
    conversionFromPrevious: t.float({
      nullable: true,
      description: 'reached / reached of the previous stage.',
      resolve: (f) => f.conversionFromPrevious,
    }),
  }),
});

type Bucket = { from: number; to: number; count: number };
const BucketRef = builder.objectRef<Bucket>('LoyaltyScoreBucket').implement({
  fields: (t) => ({ from: t.exposeInt('from'), to: t.exposeInt('to', { description: 'Inclusive.' }), count: t.exposeInt('count') }),
});

function funnel(stages: Record<string, number>): FunnelStage[] {
  const count = (s: string) => stages[s] ?? 0;
  const churned = count('CHURNED');
  return FUNNEL.map((stage, i) => {
    const reached = FUNNEL.slice(i).reduce((a, s) => a + count(s), 0) + (i <= 2 ? churned : 0);
    return { stage, count: count(stage), reached, conversionFromPrevious: null as number | null };
  }).map((f, i, all) => ({ ...f, conversionFromPrevious: i === 0 ? null : ratio(f.reached, (all[i - 1] as FunnelStage).reached) }));
}

export const ShopKpisRef = builder.objectRef<KpiView>('ShopKpis').implement({
  description:
    "Shop KPIs over [from, to), computed in one SQL statement, in the shop's base currency. Orders count by the one rule of docs/money.md: placed, not cancelled or refunded (partial refunds subtracted), not excluded, not competitor purchases.",
  fields: (t) => ({
    from: t.field({ type: 'DateTime', resolve: (k) => k.from }),
    to: t.field({ type: 'DateTime', resolve: (k) => k.to }),
    orders: t.exposeInt('orders'),
    revenue: t.field({ type: 'Decimal', resolve: (k) => k.revenue }),
    averageOrderValue: t.field({ type: 'Decimal', resolve: (k) => k.averageOrderValue }),
    buyers: t.exposeInt('buyers', { description: 'Customers with an order in the range.' }),
    repeatBuyers: t.exposeInt('repeatBuyers', { description: 'Buyers with at least two orders up to `to`.' }),
    competitorOrders: t.exposeInt('competitorOrders', {
      description: 'Competitor purchases (channel OTHER_MERCHANT) recorded in the range: market intelligence, not sales.',
    }),
    competitorSpend: t.field({
      type: 'Decimal',
      description: 'What customers spent with competitors in the range (base currency).',
      resolve: (k) => k.competitorSpend,
    }),
    competitorBuyers: t.exposeInt('competitorBuyers', { description: 'Customers with a competitor purchase in the range.' }),
    shareOfWallet: t.float({
      nullable: true,
      description: 'Share of wallet: revenue / (revenue + competitorSpend); null when both are 0.',
      resolve: (k) => {
        const r = Number(k.revenue);
        const c = Number(k.competitorSpend);
        return r + c > 0 ? r / (r + c) : null;
      },
    }),
    repurchaseRate: t.float({ nullable: true, description: 'repeatBuyers / buyers.', resolve: (k) => ratio(k.repeatBuyers, k.buyers) }),
    complaints: t.exposeInt('complaints', { description: 'COMPLAINT and DISPUTE interactions in the range.' }),
    complaintRate: t.float({ nullable: true, description: 'complaints / orders.', resolve: (k) => ratio(k.complaints, k.orders) }),
    churnBase: t.exposeInt('churnBase', { description: 'Customers who bought before `from`.' }),
    churned: t.exposeInt('churned', { description: 'Of those, customers without an order in the range.' }),
    churnRate: t.float({ nullable: true, description: 'churned / churnBase.', resolve: (k) => ratio(k.churned, k.churnBase) }),
    acquisition: t.field({
      type: [SourceKpiRef],
      description: 'New leads and conversions per acquisition source.',
      resolve: (k) => k.sources,
    }),
    visitorConversion: t.field({
      type: [VisitorSourceKpiRef],
      description:
        'Storefront visitor-to-lead conversion per source (utmSource, else referrer host), most visitors first; from behaviour events in the range.',
      resolve: (k) => k.visitorSources,
    }),
    funnel: t.field({
      type: [FunnelStageRef],
      description: 'Lifecycle funnel of active customers (current stages).',
      resolve: (k) => funnel(k.stages),
    }),
    churnedStage: t.int({ description: 'Active customers in stage CHURNED.', resolve: (k) => k.stages.CHURNED ?? 0 }),
    loyaltyDistribution: t.field({
      type: [BucketRef],
      description: 'Active customers per loyalty score band (0-19, 20-39, 40-59, 60-79, 80-100), from CustomerMetrics.',
      resolve: (k) => k.loyalty.buckets.map((count, i) => ({ from: i * 20, to: i === 4 ? 100 : i * 20 + 19, count })),
    }),
    averageLoyaltyScore: t.float({ nullable: true, resolve: (k) => (k.loyalty.average == null ? null : Number(k.loyalty.average)) }),
    churnRiskHigh: t.int({ resolve: (k) => k.loyalty.high }),
    churnRiskMedium: t.int({ resolve: (k) => k.loyalty.medium }),
    churnRiskLow: t.int({ resolve: (k) => k.loyalty.low }),
  }),
});
