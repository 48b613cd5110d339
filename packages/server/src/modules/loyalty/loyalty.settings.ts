import { z } from 'zod';
import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { parseInput } from '../common/validate.ts';
import { readShopSettings, writeSettingsSection } from '../shops/shop-settings.ts';

/**
 * Per-shop loyalty settings, stored in Shop.settings under `loyalty`: indicator weights and
 * targets (the loyalty score), churn thresholds, the lifetime-value horizon, points rules and
 * tiers. Missing keys take the defaults below; updates are patches validated as a whole.
 */

/** The seven loyalty indicators (DOMAIN.md section 6), in order. */
export const INDICATORS = [
  'addOnPurchases',
  'qaParticipation',
  'positiveWordOfMouth',
  'eventParticipation',
  'referralsBought',
  'suggestions',
  'surveysCompleted',
] as const;
export type Indicator = (typeof INDICATORS)[number];

/** CustomerMetrics column holding each indicator's raw count. */
export const INDICATOR_COLUMN: Record<Indicator, string> = {
  addOnPurchases: 'addOnOrders',
  qaParticipation: 'qaParticipations',
  positiveWordOfMouth: 'positiveWordOfMouth',
  eventParticipation: 'eventParticipations',
  referralsBought: 'referralsBought',
  suggestions: 'suggestions',
  surveysCompleted: 'surveysCompleted',
};

/**
 * The shop satisfaction index's indicators (DOMAIN.md section 6: reputation, repurchase rate,
 * complaints, ticket size, sensitivity to price changes, rate of customers leaving, plus the
 * customers' own CSAT/NPS answers), each mapped to facts the CRM holds (docs/loyalty.md).
 */
export const SATISFACTION_INDICATORS = [
  'satisfaction',
  'reputation',
  'repurchase',
  'complaints',
  'ticketSize',
  'priceSensitivity',
  'leaving',
] as const;
export type SatisfactionIndicator = (typeof SATISFACTION_INDICATORS)[number];
/** Indicators where less is better (the score is 100 at or below the target). */
export const LOWER_IS_BETTER: ReadonlySet<SatisfactionIndicator> = new Set(['complaints', 'priceSensitivity', 'leaving']);

export const INTERACTION_TYPES = [
  'INQUIRY',
  'VISIT',
  'MESSAGE',
  'REGISTRATION',
  'SUPPORT_PRE_SALE',
  'SUPPORT_DURING_SALE',
  'SUPPORT_AFTER_SALE',
  'COMPLAINT',
  'DISPUTE',
  'REVIEW',
  'WORD_OF_MOUTH',
  'REFERRAL',
  'EVENT_ATTENDANCE',
  'SURVEY_RESPONSE',
  'QA_PARTICIPATION',
  'SUGGESTION',
  'GREETING',
  'FOLLOW_UP_CALL',
  'OTHER',
] as const;

const perIndicator = (v: z.ZodNumber) =>
  z.object(Object.fromEntries(INDICATORS.map((k) => [k, v])) as Record<Indicator, z.ZodNumber>).strict();

const rate = z.number().gt(0, 'Above 0').max(1, 'At most 1');
export const satisfactionSettingsSchema = z
  .object({
    /** Relative weight of each indicator in the satisfaction index (0 leaves it out). */
    weights: z
      .object(
        Object.fromEntries(SATISFACTION_INDICATORS.map((k) => [k, z.number().min(0).max(1000)])) as Record<
          SatisfactionIndicator,
          z.ZodNumber
        >,
      )
      .strict()
      .refine((w) => Object.values(w).some((v) => v > 0), { message: 'At least one weight must be above 0' }),
    /** Targets: rates (0-1) except ticketSize, an amount in the base currency (null: the 12 months before). */
    targets: z
      .object({
        satisfaction: rate,
        reputation: rate,
        repurchase: rate,
        complaints: rate,
        ticketSize: z.number().gt(0, 'Above 0').max(1e9).nullable(),
        priceSensitivity: rate,
        leaving: rate,
      })
      .strict(),
    /** A customer has left once this many days pass after their last order. */
    leavingAfterDays: z.number().int().min(7).max(3650),
  })
  .strict();

export const tierSchema = z
  .object({
    name: z.string().trim().min(1).max(40),
    minPoints: z.number().int().min(0).max(100_000_000),
    benefits: z.string().max(2000),
  })
  .strict();

export const loyaltySettingsSchema = z
  .object({
    /** Relative weight of each indicator in the loyalty score (0 leaves it out). */
    weights: perIndicator(z.number().min(0).max(1000)).refine((w) => Object.values(w).some((v) => v > 0), {
      message: 'At least one weight must be above 0',
    }),
    /** The raw count at which an indicator scores 100 (score = min(100, 100 × count / target)). */
    targets: perIndicator(z.number().int().min(1).max(100_000)),
    churn: z
      .object({
        /** Medium risk when days since the last order ≥ mediumFactor × the customer's typical gap. */
        mediumFactor: z.number().min(1).max(100),
        /** High risk when days since the last order ≥ highFactor × the typical gap. */
        highFactor: z.number().min(1).max(100),
        /** Typical gap assumed for customers with a single order. */
        defaultGapDays: z.number().int().min(1).max(3650),
        /** Typical gaps shorter than this count as this (avoids alarms for bursts of orders). */
        minGapDays: z.number().int().min(1).max(3650),
        /** Window for falling engagement and negative sentiment / complaints. */
        windowDays: z.number().int().min(1).max(3650),
        /** Negative interactions in the window from which they weigh double. */
        negativeHigh: z.number().int().min(1).max(1000),
        /** Create a retention follow-up when a customer crosses into HIGH. */
        createFollowUp: z.boolean(),
        /** The retention follow-up is due this many days after the crossing. */
        followUpDueDays: z.number().int().min(0).max(365),
        /** Churn points for falling storefront visit frequency (last 30 days < half the previous 90 days' monthly average); 0 = ignore. */
        visitDropPoints: z.number().int().min(0).max(2),
        /** CHECKOUT_STARTED without an order within this many hours -> CHECKOUT_ABANDONED (abandoned-checkout.ts). */
        abandonedCheckoutHours: z.number().int().min(1).max(720),
      })
      .strict()
      .refine((c) => c.highFactor > c.mediumFactor, { message: 'highFactor must be above mediumFactor', path: ['highFactor'] }),
    /** Predicted lifetime value looks this many days ahead. */
    predictionHorizonDays: z.number().int().min(1).max(3650),
    points: z
      .object({
        /** Points per currency unit of a non-cancelled order's total (floored). */
        perCurrencyUnit: z.number().min(0).max(1000),
        /** Points for recorded interactions of these types (e.g. SURVEY_RESPONSE: 20). */
        actions: z.partialRecord(z.enum(INTERACTION_TYPES), z.number().int().min(0).max(1_000_000)),
        /** Points for the referrer when a referred customer places their first order. */
        referralPurchase: z.number().int().min(0).max(1_000_000),
        /** Earned points expire after this many days (null: never). */
        expiryDays: z.number().int().min(1).max(3650).nullable(),
      })
      .strict(),
    /** The shop satisfaction index: weights and targets of its indicators. */
    satisfaction: satisfactionSettingsSchema,
    /** Tiers by lifetime earned points, ascending thresholds, unique names. */
    tiers: z
      .array(tierSchema)
      .max(20)
      .refine((t) => new Set(t.map((x) => x.name)).size === t.length, { message: 'Tier names must be unique' })
      .refine((t) => t.every((x, i) => i === 0 || x.minPoints > (t[i - 1] as { minPoints: number }).minPoints), {
        message: 'Tier thresholds must be strictly ascending',
      }),
  })
  .strict();

export type LoyaltySettings = z.output<typeof loyaltySettingsSchema>;

export const DEFAULT_LOYALTY: LoyaltySettings = {
  weights: {
    addOnPurchases: 15,
    qaParticipation: 10,
    positiveWordOfMouth: 20,
    eventParticipation: 10,
    referralsBought: 20,
    suggestions: 10,
    surveysCompleted: 15,
  },
  targets: {
    addOnPurchases: 3,
    qaParticipation: 5,
    positiveWordOfMouth: 3,
    eventParticipation: 3,
    referralsBought: 2,
    suggestions: 3,
    surveysCompleted: 3,
  },
  churn: {
    mediumFactor: 1.5,
    highFactor: 2.5,
    defaultGapDays: 90,
    minGapDays: 7,
    windowDays: 90,
    negativeHigh: 3,
    createFollowUp: false,
    followUpDueDays: 1,
    visitDropPoints: 1,
    abandonedCheckoutHours: 4,
  },
  predictionHorizonDays: 365,
  satisfaction: {
    weights: { satisfaction: 25, reputation: 15, repurchase: 20, complaints: 15, ticketSize: 5, priceSensitivity: 5, leaving: 15 },
    targets: {
      satisfaction: 0.5,
      reputation: 0.8,
      repurchase: 0.3,
      complaints: 0.05,
      ticketSize: null,
      priceSensitivity: 0.3,
      leaving: 0.05,
    },
    leavingAfterDays: 180,
  },
  points: { perCurrencyUnit: 1, actions: { SURVEY_RESPONSE: 20, REVIEW: 10, SUGGESTION: 10 }, referralPurchase: 100, expiryDays: 365 },
  tiers: [
    { name: 'Bronze', minPoints: 0, benefits: 'Member prices' },
    { name: 'Silver', minPoints: 1000, benefits: 'Free shipping' },
    { name: 'Gold', minPoints: 5000, benefits: 'Free shipping, priority service, early access to sales' },
  ],
};

type Db = ScopedDb | ScopedTx;

const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

function merged(raw: unknown): Record<string, unknown> {
  const l = obj(raw);
  return {
    ...DEFAULT_LOYALTY,
    ...l,
    weights: { ...DEFAULT_LOYALTY.weights, ...obj(l.weights) },
    targets: { ...DEFAULT_LOYALTY.targets, ...obj(l.targets) },
    churn: { ...DEFAULT_LOYALTY.churn, ...obj(l.churn) },
    points: { ...DEFAULT_LOYALTY.points, ...obj(l.points) },
    satisfaction: {
      ...DEFAULT_LOYALTY.satisfaction,
      ...obj(l.satisfaction),
      weights: { ...DEFAULT_LOYALTY.satisfaction.weights, ...obj(obj(l.satisfaction).weights) },
      targets: { ...DEFAULT_LOYALTY.satisfaction.targets, ...obj(obj(l.satisfaction).targets) },
    },
  };
}

/** Stored settings merged over the defaults; an invalid stored value falls back to the defaults. */
export function loyaltySettingsFrom(raw: Record<string, unknown>): LoyaltySettings {
  const r = loyaltySettingsSchema.safeParse(merged(raw.loyalty));
  return r.success ? r.data : DEFAULT_LOYALTY;
}

export async function getLoyaltySettings(db: Db): Promise<LoyaltySettings> {
  return loyaltySettingsFrom(await readShopSettings(db));
}

export type LoyaltySettingsPatch = {
  weights?: Partial<Record<Indicator, number | null>> | null;
  targets?: Partial<Record<Indicator, number | null>> | null;
  churn?: Partial<{ [K in keyof LoyaltySettings['churn']]: LoyaltySettings['churn'][K] | null }> | null;
  predictionHorizonDays?: number | null;
  satisfaction?: {
    weights?: Partial<Record<SatisfactionIndicator, number | null>> | null;
    /** ticketSize: null = the default (the 12 months before each month). */
    targets?: Partial<Record<SatisfactionIndicator, number | null>> | null;
    leavingAfterDays?: number | null;
  } | null;
  points?: {
    perCurrencyUnit?: number | null;
    actions?: { type: (typeof INTERACTION_TYPES)[number]; points: number }[] | null;
    referralPurchase?: number | null;
    /** null: never expire. */
    expiryDays?: number | null;
  } | null;
  tiers?: { name: string; minPoints: number; benefits?: string | null }[] | null;
};

/** Omitted: unchanged; null (for a field or a group): back to the default (expiryDays: null = never). */
function patchGroup<T extends Record<string, unknown>>(
  current: T,
  defaults: T,
  patch: Partial<Record<keyof T, unknown>> | null | undefined,
): T {
  if (patch === undefined) return current;
  if (patch === null) return defaults;
  const out: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    out[k] = v === null ? defaults[k] : v;
  }
  return out as T;
}

/** Patches settings.loyalty and validates the result as a whole (issues at input.<group>.<field>). */
export async function updateLoyaltySettings(db: ScopedDb, patch: LoyaltySettingsPatch): Promise<LoyaltySettings> {
  return db.$transaction(async (tx) => {
    const raw = await readShopSettings(tx);
    const cur = loyaltySettingsFrom(raw);
    const next: Record<string, unknown> = {
      weights: patchGroup(cur.weights, DEFAULT_LOYALTY.weights, patch.weights),
      targets: patchGroup(cur.targets, DEFAULT_LOYALTY.targets, patch.targets),
      churn: patchGroup(cur.churn, DEFAULT_LOYALTY.churn, patch.churn),
      predictionHorizonDays:
        patch.predictionHorizonDays === undefined
          ? cur.predictionHorizonDays
          : (patch.predictionHorizonDays ?? DEFAULT_LOYALTY.predictionHorizonDays),
      points: cur.points,
      satisfaction:
        patch.satisfaction === undefined
          ? cur.satisfaction
          : patch.satisfaction === null
            ? DEFAULT_LOYALTY.satisfaction
            : {
                weights: patchGroup(cur.satisfaction.weights, DEFAULT_LOYALTY.satisfaction.weights, patch.satisfaction.weights),
                targets: patchGroup(cur.satisfaction.targets, DEFAULT_LOYALTY.satisfaction.targets, patch.satisfaction.targets),
                leavingAfterDays:
                  patch.satisfaction.leavingAfterDays === undefined
                    ? cur.satisfaction.leavingAfterDays
                    : (patch.satisfaction.leavingAfterDays ?? DEFAULT_LOYALTY.satisfaction.leavingAfterDays),
              },
      tiers:
        patch.tiers === undefined
          ? cur.tiers
          : patch.tiers === null
            ? DEFAULT_LOYALTY.tiers
            : patch.tiers.map((t) => ({ name: t.name, minPoints: t.minPoints, benefits: t.benefits ?? '' })),
    };
    if (patch.points === null) next.points = DEFAULT_LOYALTY.points;
    else if (patch.points) {
      const p = patch.points;
      next.points = {
        perCurrencyUnit:
          p.perCurrencyUnit === undefined ? cur.points.perCurrencyUnit : (p.perCurrencyUnit ?? DEFAULT_LOYALTY.points.perCurrencyUnit),
        actions:
          p.actions === undefined
            ? cur.points.actions
            : p.actions === null
              ? DEFAULT_LOYALTY.points.actions
              : Object.fromEntries(p.actions.map((a) => [a.type, a.points])),
        referralPurchase:
          p.referralPurchase === undefined ? cur.points.referralPurchase : (p.referralPurchase ?? DEFAULT_LOYALTY.points.referralPurchase),
        expiryDays: p.expiryDays === undefined ? cur.points.expiryDays : p.expiryDays,
      };
    }
    const parsed = parseInput(loyaltySettingsSchema, next, ['input']);
    await writeSettingsSection(tx, raw, 'loyalty', parsed);
    return parsed;
  });
}

/** The tier for a lifetime-earned figure: the highest threshold reached (null below the first). */
export function tierFor(tiers: LoyaltySettings['tiers'], lifetimeEarned: number): string | null {
  let t: string | null = null;
  for (const x of tiers) if (lifetimeEarned >= x.minPoints) t = x.name;
  return t;
}
