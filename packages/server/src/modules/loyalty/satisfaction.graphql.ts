import { builder } from '../../builder.ts';
import type { CustomerMetrics } from '../../generated/prisma/client.ts';
import type { SurveyKind } from '../../generated/prisma/enums.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { requestTimeZone } from '../follow-ups/follow-up.settings.ts';
import { SURVEY_SCALES } from '../interactions/interaction.schema.ts';
import { SurveyKindEnum } from '../interactions/interaction.type.ts';
import { SATISFACTION_INDICATORS, type SatisfactionIndicator } from './loyalty.settings.ts';
import {
  ensureFresh,
  LoyaltyIndicatorEnum,
  LoyaltySettingsRef,
  settings as loyaltySettingsFor,
  metricsLoader,
} from './loyalty.types.graphql.ts';
import {
  type IndexMonth,
  type IndicatorDiagnosis,
  type IndicatorFigure,
  indicatorDiagnosis,
  PLAYBOOK,
  satisfactionIndex,
  weakest,
} from './satisfaction.service.ts';

/**
 * Satisfaction (CSAT / NPS answers per customer, the shop satisfaction index) and the loyalty
 * indicator diagnosis (weakest indicators with the playbook). Definitions: docs/loyalty.md.
 */

export const TrendEnum = builder.enumType('Trend', {
  description: 'UP, DOWN or FLAT: the newer figure against the older one.',
  values: ['UP', 'DOWN', 'FLAT'] as const,
});
const trendOf = (latest: number, previous: number | null) =>
  previous == null ? null : latest > previous ? 'UP' : latest < previous ? 'DOWN' : 'FLAT';

// ---------------------------------------------------------------------------------------------
// Per customer

type ScoreView = { kind: SurveyKind; latest: number; previous: number | null; at: Date };
const ScoreRef = builder.objectRef<ScoreView>('SatisfactionScore').implement({
  description: 'A customer’s answers to one kind of satisfaction survey: the latest score and the one before.',
  fields: (t) => ({
    kind: t.field({ type: SurveyKindEnum, resolve: (v) => v.kind }),
    latest: t.int({ description: 'The latest score (CSAT 1-5, NPS 0-10).', resolve: (v) => v.latest }),
    previous: t.int({ nullable: true, description: 'The score before it (null: only one answer).', resolve: (v) => v.previous }),
    change: t.int({
      nullable: true,
      description: 'latest − previous.',
      resolve: (v) => (v.previous == null ? null : v.latest - v.previous),
    }),
    trend: t.field({
      type: TrendEnum,
      nullable: true,
      description: 'latest against previous.',
      resolve: (v) => trendOf(v.latest, v.previous),
    }),
    verySatisfied: t.boolean({
      description: 'CSAT 5 or NPS 9-10 (NPS promoters).',
      resolve: (v) => v.latest >= SURVEY_SCALES[v.kind].verySatisfiedFrom,
    }),
    answeredAt: t.field({ type: 'DateTime', description: 'When the latest answer was given.', resolve: (v) => v.at }),
  }),
});

type SatisfactionView = { csat: ScoreView | null; nps: ScoreView | null; latest: ScoreView; verySatisfied: boolean };
const CustomerSatisfactionRef = builder.objectRef<SatisfactionView>('CustomerSatisfaction').implement({
  description:
    'A customer’s satisfaction from their CSAT / NPS answers (SURVEY_RESPONSE interactions with a score), as of the last loyalty refresh. The top-level figures are those of the most recent answer of either kind.',
  fields: (t) => ({
    kind: t.field({ type: SurveyKindEnum, description: 'The kind of the most recent answer.', resolve: (v) => v.latest.kind }),
    latest: t.int({ resolve: (v) => v.latest.latest }),
    previous: t.int({ nullable: true, description: 'The previous answer of the same kind.', resolve: (v) => v.latest.previous }),
    trend: t.field({ type: TrendEnum, nullable: true, resolve: (v) => trendOf(v.latest.latest, v.latest.previous) }),
    verySatisfied: t.boolean({
      description: 'The most recent answer is CSAT 5 or NPS 9-10: a very satisfied customer (six times as likely to buy again).',
      resolve: (v) => v.verySatisfied,
    }),
    answeredAt: t.field({ type: 'DateTime', resolve: (v) => v.latest.at }),
    csat: t.field({ type: ScoreRef, nullable: true, resolve: (v) => v.csat }),
    nps: t.field({ type: ScoreRef, nullable: true, resolve: (v) => v.nps }),
  }),
});

export function satisfactionOf(row: CustomerMetrics): SatisfactionView | null {
  const csat: ScoreView | null =
    row.csatLatest != null && row.csatAt ? { kind: 'CSAT', latest: row.csatLatest, previous: row.csatPrevious, at: row.csatAt } : null;
  const nps: ScoreView | null =
    row.npsLatest != null && row.npsAt ? { kind: 'NPS', latest: row.npsLatest, previous: row.npsPrevious, at: row.npsAt } : null;
  const latest = csat && (!nps || csat.at >= nps.at) ? csat : nps;
  return latest ? { csat, nps, latest, verySatisfied: row.verySatisfied } : null;
}

builder.prismaObjectFields(CustomerNode, (t) => ({
  satisfaction: t.field({
    authScopes: { scope: 'loyalty:read' },
    type: CustomerSatisfactionRef,
    nullable: true,
    description:
      'Latest CSAT / NPS answers, their trend and the "very satisfied" flag; null until the customer answers. Secret key with loyalty:read.',
    resolve: async (c, _a, ctx) => {
      const row = await metricsLoader(ctx).load(c.id);
      return row ? satisfactionOf(row) : null;
    },
  }),
}));

// ---------------------------------------------------------------------------------------------
// The shop satisfaction index

export const SatisfactionIndicatorEnum = builder.enumType('SatisfactionIndicator', {
  description: 'The indicators of the shop satisfaction index (DOMAIN section 6), each from facts the CRM holds, per calendar month.',
  values: {
    SATISFACTION: {
      value: 'satisfaction',
      description: 'Very satisfied answers (CSAT 5, NPS 9-10) / CSAT and NPS answers given in the month.',
    },
    REPUTATION: { value: 'reputation', description: 'POSITIVE / all REVIEW and WORD_OF_MOUTH interactions with a sentiment in the month.' },
    REPURCHASE: { value: 'repurchase', description: 'Buyers of the month with at least two orders up to its end / buyers of the month.' },
    COMPLAINTS: { value: 'complaints', description: 'COMPLAINT and DISPUTE interactions / orders of the month (lower is better).' },
    TICKET_SIZE: {
      value: 'ticketSize',
      description: 'Average order value of the month (base currency); default target: the average of the 12 months before.',
    },
    PRICE_SENSITIVITY: { value: 'priceSensitivity', description: 'Orders with a discount / orders of the month (lower is better).' },
    LEAVING: {
      value: 'leaving',
      description:
        'Customers active at the month’s start (an order in the leavingAfterDays before) whose leavingAfterDays ran out in the month without a new order / those active customers (lower is better).',
    },
  } as const,
});

const FigureRef = builder.objectRef<IndicatorFigure>('SatisfactionIndicatorFigure').implement({
  description: 'One indicator of the index in one month: value, target, score and contribution.',
  fields: (t) => ({
    indicator: t.field({ type: SatisfactionIndicatorEnum, resolve: (f) => f.indicator as never }),
    value: t.float({
      nullable: true,
      description: 'A rate 0-1 (ticket size: an amount); null: nothing to measure this month.',
      resolve: (f) => f.value,
    }),
    target: t.float({ nullable: true, description: 'The shop’s target (loyaltySettings.satisfaction).', resolve: (f) => f.target }),
    lowerIsBetter: t.boolean({ resolve: (f) => f.lowerIsBetter }),
    score: t.int({
      nullable: true,
      description:
        '0-100: min(100, 100 × value / target); lower-is-better: 100 at or below the target, else 100 × target / value. null: left out.',
      resolve: (f) => f.score,
    }),
    weight: t.float({ resolve: (f) => f.weight }),
    contribution: t.float({
      description: 'Index points from this indicator: weight × score / Σ weights of the indicators with a score.',
      resolve: (f) => f.contribution,
    }),
    basis: t.int({
      description: 'What the value is a share of: answers, opinions, buyers, orders or active customers.',
      resolve: (f) => f.basis,
    }),
  }),
});

const IndexMonthRef = builder.objectRef<IndexMonth>('SatisfactionIndexMonth').implement({
  description: "The satisfaction index of one calendar month (in the shop's time zone, cadence settings; default UTC).",
  fields: (t) => ({
    month: t.string({ description: 'e.g. "2026-05".', resolve: (m) => m.start.toISOString().slice(0, 7) }),
    start: t.field({ type: 'DateTime', resolve: (m) => m.start }),
    end: t.field({ type: 'DateTime', description: 'Exclusive; now for the current month.', resolve: (m) => m.end }),
    index: t.float({
      nullable: true,
      description: '0-100: Σ weight × score / Σ weight over the indicators with a score; null without any.',
      resolve: (m) => m.index,
    }),
    indicators: t.field({ type: [FigureRef], resolve: (m) => m.indicators }),
  }),
});

type IndexView = { months: IndexMonth[] };
const IndexRef = builder.objectRef<IndexView>('SatisfactionIndex').implement({
  description: 'The shop satisfaction index by month, computed from facts when asked (definitions in docs/loyalty.md).',
  fields: (t) => ({
    current: t.field({ type: IndexMonthRef, description: 'The current month, to date.', resolve: (v) => v.months.at(-1) as IndexMonth }),
    months: t.field({ type: [IndexMonthRef], description: 'Oldest first; the last is the current month.', resolve: (v) => v.months }),
    change: t.float({
      nullable: true,
      description: 'The last complete month’s index minus the one before (null when either has none).',
      resolve: (v) => {
        const a = v.months.at(-2)?.index;
        const b = v.months.at(-3)?.index;
        return a == null || b == null ? null : Math.round((a - b) * 10) / 10;
      },
    }),
  }),
});

// ---------------------------------------------------------------------------------------------
// Indicator diagnosis

type Play = (typeof PLAYBOOK)[keyof typeof PLAYBOOK];
const PlaybookRef = builder.objectRef<Play>('IndicatorPlaybook').implement({
  description: 'What to do when this indicator is weak (docs/loyalty.md, the playbook).',
  fields: (t) => ({
    action: t.exposeString('action', { description: 'e.g. SURVEY_FOLLOW_UPS.' }),
    title: t.exposeString('title'),
    description: t.exposeString('description'),
    audienceRule: t.exposeString('audienceRule', {
      description: 'A segment rule for the customers to act on (createSegment / previewSegment).',
    }),
  }),
});

const IndicatorMonthRef = builder.objectRef<IndicatorDiagnosis['months'][number]>('LoyaltyIndicatorMonth').implement({
  fields: (t) => ({
    month: t.string({ resolve: (m) => m.start.toISOString().slice(0, 7) }),
    facts: t.exposeInt('facts', { description: 'Facts of this indicator that happened in the month.' }),
    customers: t.exposeInt('customers', { description: 'Customers with at least one of them.' }),
  }),
});

const DiagnosisRef = builder.objectRef<IndicatorDiagnosis>('LoyaltyIndicatorDiagnosis').implement({
  description: 'One loyalty indicator across the shop: average, reach, score distribution and monthly facts with their trend.',
  fields: (t) => ({
    indicator: t.field({ type: LoyaltyIndicatorEnum, resolve: (d) => d.indicator as never }),
    target: t.exposeInt('target'),
    weight: t.exposeFloat('weight'),
    customers: t.exposeInt('customers', { description: 'Active customers measured (with computed loyalty).' }),
    averageValue: t.exposeFloat('averageValue', { description: 'Average raw count per customer.' }),
    averageScore: t.exposeFloat('averageScore', { description: 'Average indicator score, 0-100.' }),
    reach: t.exposeFloat('reach', { description: 'Share of customers with at least one fact (0-1).' }),
    distribution: t.field({
      type: [IndicatorBucketRef],
      description: 'Customers per indicator score band.',
      resolve: (d) => d.distribution.map((count, i) => ({ from: i * 20, to: i === 4 ? 100 : i * 20 + 19, count })),
    }),
    months: t.field({
      type: [IndicatorMonthRef],
      description: 'Oldest first; the last is the current month to date.',
      resolve: (d) => d.months,
    }),
    change: t.exposeInt('change', { description: 'Facts in the last complete month minus the month before.' }),
    trend: t.field({ type: TrendEnum, resolve: (d) => d.trend }),
    playbook: t.field({ type: PlaybookRef, resolve: (d) => PLAYBOOK[d.indicator] }),
  }),
});

type Bucket = { from: number; to: number; count: number };
const IndicatorBucketRef = builder.objectRef<Bucket>('IndicatorScoreBucket').implement({
  fields: (t) => ({ from: t.exposeInt('from'), to: t.exposeInt('to', { description: 'Inclusive.' }), count: t.exposeInt('count') }),
});

builder.queryFields((t) => ({
  satisfactionIndex: t.field({
    authScopes: { scope: 'loyalty:read' },
    type: IndexRef,
    description:
      "The shop satisfaction index by calendar month (in the shop's time zone) from its indicators (satisfaction answers, reputation, repurchase, complaints, ticket size, price sensitivity, customers leaving), each with value, target, score and contribution. Secret key with loyalty:read.",
    args: { months: t.arg.int({ defaultValue: 12, description: 'Months to show, 1-36, the current one included.' }) },
    resolve: async (_r, { months }, ctx) => ({
      months: await satisfactionIndex(ctx.sql, await loyaltySettingsFor(ctx), months ?? 12, new Date(), await requestTimeZone(ctx)),
    }),
  }),
  loyaltyIndicatorDiagnosis: t.field({
    authScopes: { scope: 'loyalty:read' },
    type: [DiagnosisRef],
    description:
      'The seven loyalty indicators across the shop: averages, reach, score distribution, monthly facts and their month-over-month trend, with the playbook. Secret key with loyalty:read.',
    args: { months: t.arg.int({ defaultValue: 6, description: 'Months of history, 3-36, the current one included.' }) },
    resolve: async (_r, { months }, ctx) => {
      await ensureFresh(ctx);
      return indicatorDiagnosis(ctx.sql, await loyaltySettingsFor(ctx), months ?? 6, new Date(), await requestTimeZone(ctx));
    },
  }),
  weakestIndicators: t.field({
    authScopes: { scope: 'loyalty:read' },
    type: [DiagnosisRef],
    description:
      'The loyalty indicators with the lowest average score (ties: the heavier weight first), each with the playbook’s suggested action. Secret key with loyalty:read.',
    args: {
      limit: t.arg.int({ defaultValue: 3, description: '1-7.' }),
      months: t.arg.int({ defaultValue: 6, description: 'Months of history, 3-36.' }),
    },
    resolve: async (_r, { limit, months }, ctx) => {
      await ensureFresh(ctx);
      const diagnosis = await indicatorDiagnosis(
        ctx.sql,
        await loyaltySettingsFor(ctx),
        months ?? 6,
        new Date(),
        await requestTimeZone(ctx),
      );
      return weakest(diagnosis, limit ?? 3);
    },
  }),
}));

// ---------------------------------------------------------------------------------------------
// Settings of the index (a group of loyaltySettings / updateLoyaltySettings)

type SatSettings = import('./loyalty.settings.ts').LoyaltySettings['satisfaction'];
const perSat = (name: string, description: string, pick: (s: SatSettings) => Record<SatisfactionIndicator, number | null>) =>
  builder.objectRef<SatSettings>(name).implement({
    description,
    fields: (t) =>
      Object.fromEntries(SATISFACTION_INDICATORS.map((k) => [k, t.float({ nullable: true, resolve: (s) => pick(s)[k] })])) as never,
  });
const SatWeightsRef = perSat('SatisfactionWeights', 'Relative weight of each indicator in the index (0 leaves it out).', (s) => s.weights);
const SatTargetsRef = perSat(
  'SatisfactionTargets',
  'Targets: rates 0-1, except ticketSize (an amount in the base currency; null: the average order value of the 12 months before each month).',
  (s) => s.targets,
);
const SatSettingsRef = builder.objectRef<SatSettings>('SatisfactionSettings').implement({
  description: 'Weights and targets of the shop satisfaction index.',
  fields: (t) => ({
    weights: t.field({ type: SatWeightsRef, resolve: (s) => s }),
    targets: t.field({ type: SatTargetsRef, resolve: (s) => s }),
    leavingAfterDays: t.exposeInt('leavingAfterDays', {
      description: 'A customer has left once this many days pass after their last order.',
    }),
  }),
});
builder.objectFields(LoyaltySettingsRef, (t) => ({
  satisfaction: t.field({ type: SatSettingsRef, resolve: (s) => s.satisfaction }),
}));

const perSatInput = (name: string) =>
  builder.inputType(name, {
    description: 'Omitted: unchanged; null: the default.',
    fields: (t) => Object.fromEntries(SATISFACTION_INDICATORS.map((k) => [k, t.float()])) as never,
  });
export const SatisfactionSettingsInput = builder.inputType('SatisfactionSettingsInput', {
  description: 'Omitted: unchanged; null: the default.',
  fields: (t) => ({
    weights: t.field({ type: perSatInput('SatisfactionWeightsInput') }),
    targets: t.field({ type: perSatInput('SatisfactionTargetsInput') }),
    leavingAfterDays: t.int(),
  }),
});
