import { builder } from '../../builder.ts';
import { type Context, shopIdOf } from '../../context.ts';
import { ValidationError } from '../../errors.ts';
import { COMMON_ERRORS, ErrorInterface } from '../common/common.type.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { AFTER, EventRef, parseAfter, stream } from '../events/event.graphql.ts';
import { InteractionTypeEnum } from '../interactions/interaction.type.ts';
import { recomputeLoyalty, refreshLoyalty, shopKpis } from './loyalty.service.ts';
import { getLoyaltySettings, INDICATORS, updateLoyaltySettings } from './loyalty.settings.ts';
import { ensureFresh, LoyaltySettingsRef, PointsMovementObject, ShopKpisRef } from './loyalty.types.graphql.ts';
import { adjustPoints, earnPoints, expirePoints, InsufficientPointsError, type MovementResult, redeemPoints } from './points.service.ts';
import { SatisfactionSettingsInput } from './satisfaction.graphql.ts';

/** Loyalty's queries, mutations and subscriptions; the objects they return are in loyalty.types.graphql.ts. */
builder.queryFields((t) => ({
  shopKpis: t.field({
    authScopes: { scope: 'loyalty:read' },
    type: ShopKpisRef,
    description:
      'Repurchase rate, complaint rate, average order value, churn rate, leads and conversions per source, lifecycle funnel and loyalty score distribution over [from, to) (at most 10 years). Secret key with loyalty:read.',
    args: { from: t.arg({ type: 'DateTime', required: true }), to: t.arg({ type: 'DateTime', required: true }) },
    resolve: async (_r, { from, to }, ctx) => {
      if (from >= to) throw ValidationError.field(['to'], 'Must be after from');
      if (to.getTime() - from.getTime() > 3653 * 86_400_000) throw ValidationError.field(['to'], 'At most 10 years');
      await ensureFresh(ctx);
      return { ...(await shopKpis(ctx.sql, from, to)), from, to };
    },
  }),
  loyaltySettings: t.field({
    authScopes: { scope: 'loyalty:read' },
    type: LoyaltySettingsRef,
    description: 'Loyalty weights and targets, churn thresholds, points rules and tiers (defaults where not set).',
    resolve: (_r, _a, ctx) => {
      return getLoyaltySettings(ctx.db);
    },
  }),
}));

// ---------------------------------------------------------------------------------------------
// Mutations

builder.objectType(InsufficientPointsError, {
  name: 'InsufficientPointsError',
  description: 'The balance is smaller than the points to spend; nothing was changed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ balance: t.exposeInt('balance') }),
});

const perIndicatorInput = (name: string, float: boolean) =>
  builder.inputType(name, {
    description: 'Omitted: unchanged; null: the default.',
    fields: (t) => Object.fromEntries(INDICATORS.map((k) => [k, float ? t.float() : t.int()])) as never,
  });

const ChurnSettingsInput = builder.inputType('ChurnSettingsInput', {
  description: 'Omitted: unchanged; null: the default.',
  fields: (t) => ({
    mediumFactor: t.float(),
    highFactor: t.float(),
    defaultGapDays: t.int(),
    minGapDays: t.int(),
    windowDays: t.int(),
    negativeHigh: t.int(),
    createFollowUp: t.boolean(),
    followUpDueDays: t.int(),
    visitDropPoints: t.int(),
    abandonedCheckoutHours: t.int(),
  }),
});
const ActionPointsInput = builder.inputType('ActionPointsInput', {
  fields: (t) => ({ type: t.field({ type: InteractionTypeEnum, required: true }), points: t.int({ required: true }) }),
});
const PointsRulesInput = builder.inputType('PointsRulesInput', {
  fields: (t) => ({
    perCurrencyUnit: t.float(),
    actions: t.field({ type: [ActionPointsInput], description: 'Replaces the whole list.' }),
    referralPurchase: t.int(),
    expiryDays: t.int({ description: 'null: points never expire.' }),
  }),
});
const TierInput = builder.inputType('LoyaltyTierInput', {
  fields: (t) => ({ name: t.string({ required: true }), minPoints: t.int({ required: true }), benefits: t.string() }),
});
const UpdateLoyaltySettingsInput = builder.inputType('UpdateLoyaltySettingsInput', {
  description: 'A patch: omitted groups and fields stay, null restores the default. Validated as a whole.',
  fields: (t) => ({
    weights: t.field({ type: perIndicatorInput('LoyaltyWeightsInput', true) }),
    targets: t.field({ type: perIndicatorInput('LoyaltyTargetsInput', false) }),
    churn: t.field({ type: ChurnSettingsInput }),
    predictionHorizonDays: t.int(),
    satisfaction: t.field({
      type: SatisfactionSettingsInput,
      description: 'The shop satisfaction index: weights, targets, leavingAfterDays.',
    }),
    points: t.field({ type: PointsRulesInput }),
    tiers: t.field({ type: [TierInput], description: 'Replaces all tiers (ascending minPoints, unique names).' }),
  }),
});

const RedeemPointsInput = builder.inputType('RedeemPointsInput', {
  fields: (t) => ({
    customerId: t.globalID({ required: true, for: CustomerNode }),
    points: t.int({ required: true }),
    reason: t.string(),
    idempotencyKey: t.string({ required: true, description: 'A retry with the same key returns the first movement.' }),
  }),
});
const AdjustPointsInput = builder.inputType('AdjustPointsInput', {
  fields: (t) => ({
    customerId: t.globalID({ required: true, for: CustomerNode }),
    points: t.int({ required: true, description: 'Signed, not 0.' }),
    reason: t.string({ required: true }),
    idempotencyKey: t.string({ required: true }),
  }),
});
const EarnPointsInput = builder.inputType('EarnPointsInput', {
  fields: (t) => ({
    customerId: t.globalID({ required: true, for: CustomerNode }),
    points: t.int({ required: true }),
    reason: t.string({ required: true }),
    interactionId: t.globalID({ description: 'The interaction rewarded, if any (same customer).' }),
    idempotencyKey: t.string({ required: true }),
  }),
});

const PointsMovementPayload = builder.objectRef<MovementResult>('PointsMovementPayload').implement({
  fields: (t) => ({
    movement: t.field({ type: PointsMovementObject, resolve: (r) => r.movement }),
    balance: t.int({ resolve: (r) => r.account.balance }),
    tier: t.string({ nullable: true, resolve: (r) => r.account.tier }),
    replayed: t.boolean({
      description: 'true when the idempotency key had been used: the first movement is returned.',
      resolve: (r) => r.replayed,
    }),
  }),
});

type RecomputeView = { customers: number; computedAt: Date; durationMs: number };
const RecomputePayload = builder.objectRef<RecomputeView>('RecomputeLoyaltyPayload').implement({
  fields: (t) => ({
    customers: t.exposeInt('customers'),
    computedAt: t.field({ type: 'DateTime', resolve: (r) => r.computedAt }),
    durationMs: t.exposeInt('durationMs'),
  }),
});
type ExpireView = { customers: number; points: number };
const ExpirePayload = builder.objectRef<ExpireView>('ExpirePointsPayload').implement({
  fields: (t) => ({ customers: t.exposeInt('customers'), points: t.exposeInt('points') }),
});

const direct = (name: string, extra: unknown[] = []) => ({
  types: [...COMMON_ERRORS, ...extra] as never,
  result: { name: `${name}Success` },
  union: { name: `${name}Result` },
  directResult: true as const,
});

const write = (ctx: Context) => ({ db: ctx.db, shopId: shopIdOf(ctx) });
const WRITE = { scope: 'loyalty:write' } as const;
/** Shop-wide loyalty rules and recomputes: owners, managers or the shop's system. */
const MANAGE = { scope: 'loyalty:write', role: 'MANAGER' } as const;

builder.mutationFields((t) => ({
  recomputeLoyalty: t.field({
    authScopes: MANAGE,
    type: RecomputePayload,
    description:
      'Recomputes every customer’s loyalty metrics now (one set-based statement; new RFM quintile boundaries). Owners / managers / system only.',
    errors: direct('RecomputeLoyalty'),
    resolve: async (_r, _a, ctx) => {
      await refreshLoyalty(ctx.shop);
      return recomputeLoyalty(ctx.shop);
    },
  }),
  updateLoyaltySettings: t.field({
    authScopes: MANAGE,
    type: LoyaltySettingsRef,
    description:
      'Changes loyalty weights, targets, churn thresholds, points rules or tiers (applied from the next recompute). Owners / managers / system only.',
    errors: direct('UpdateLoyaltySettings'),
    args: { input: t.arg({ type: UpdateLoyaltySettingsInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db } = write(ctx);
      return updateLoyaltySettings(db, input as never);
    },
  }),
  redeemPoints: t.field({
    authScopes: WRITE,
    type: PointsMovementPayload,
    description: 'Spends points. Parallel redemptions never overdraw: the loser gets InsufficientPointsError.',
    errors: direct('RedeemPoints', [InsufficientPointsError]),
    args: { input: t.arg({ type: RedeemPointsInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const { db } = write(ctx);
      await ensureFresh(ctx);
      return redeemPoints(db, { ...input, customerId: input.customerId.id });
    },
  }),
  adjustPoints: t.field({
    authScopes: WRITE,
    type: PointsMovementPayload,
    description: 'A manual correction with a reason (negative: never below 0, else InsufficientPointsError).',
    errors: direct('AdjustPoints', [InsufficientPointsError]),
    args: { input: t.arg({ type: AdjustPointsInput, required: true }) },
    resolve: (_r, { input }, ctx) => adjustPoints(write(ctx).db, { ...input, customerId: input.customerId.id }),
  }),
  earnPoints: t.field({
    authScopes: WRITE,
    type: PointsMovementPayload,
    description: 'Points for an action outside the automatic rules (EARN_ACTION); they expire like other earned points.',
    errors: direct('EarnPoints'),
    args: { input: t.arg({ type: EarnPointsInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      earnPoints(write(ctx).db, { ...input, customerId: input.customerId.id, interactionId: input.interactionId?.id ?? null }),
  }),
  expirePoints: t.field({
    authScopes: WRITE,
    type: ExpirePayload,
    description: 'Expires earned points past their expiresAt (soonest-expiring points are spent first). The scheduler runs it too.',
    errors: direct('ExpirePoints'),
    resolve: (_r, _a, ctx) => expirePoints(write(ctx).db),
  }),
}));

// ---------------------------------------------------------------------------------------------
// Subscriptions

builder.subscriptionField('churnRiskRaised', (t) =>
  t.field({
    authScopes: { scope: 'loyalty:read' },
    type: EventRef,
    description: 'CHURN_RISK_RAISED: a customer crossed into HIGH churn risk (payload: customerId, from, to, reasons). Once per crossing.',
    args: { after: t.arg.id(AFTER) },
    subscribe: (_root, args, ctx) => stream(ctx, parseAfter(args.after), (e) => e.type === 'CHURN_RISK_RAISED'),
    resolve: (e) => e,
  }),
);

builder.subscriptionField('tierChanged', (t) =>
  t.field({
    authScopes: { scope: 'loyalty:read' },
    type: EventRef,
    description: 'TIER_CHANGED: a customer’s points tier changed (payload: customerId, from, to).',
    args: { after: t.arg.id(AFTER) },
    subscribe: (_root, args, ctx) => stream(ctx, parseAfter(args.after), (e) => e.type === 'TIER_CHANGED'),
    resolve: (e) => e,
  }),
);
