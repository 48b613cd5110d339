import { z } from 'zod';
import type { ScopedDb, ScopedTx } from '../../db/tenant.ts';
import { ValidationError } from '../../errors.ts';
import { parseInput } from '../common/validate.ts';
import { readShopSettings, writeSettingsSection } from '../shops/shop-settings.ts';
import { checkRuleStage, checkStageRule } from './lifecycle.rules.ts';

/**
 * Per-shop thresholds of the automatic lifecycle ladder (docs/customers.md "The lifecycle ladder"),
 * stored in Shop.settings under `lifecycle`. Missing keys take the defaults below; an update is a
 * patch validated as a whole.
 */
export const lifecycleSettingsSchema = z
  .object({
    /** LOYAL: at least this many counted orders (never fewer than 2: one purchase never counts)... */
    loyalMinOrders: z.number().int().min(2).max(1000),
    /** ...whose first and latest are at least this many days apart. */
    loyalMinSpanDays: z.number().int().min(0).max(3650),
    /** ADVOCATE: LOYAL plus at least this many positive WORD_OF_MOUTH / REVIEW interactions... */
    advocateMinPositive: z.number().int().min(1).max(1000),
    /** ...in the last this many days. */
    advocateWindowDays: z.number().int().min(1).max(3650),
    /** STRATEGIC: at least this many referred customers who bought (a counted order each). */
    strategicMinReferralsBought: z.number().int().min(1).max(1000),
    /** CHURNED: a buyer whose churn risk is HIGH moves to CHURNED (false: churn never moves the stage). */
    churnOnHighRisk: z.boolean(),
    /**
     * Stage rules in the segment rule language, per stage (LOYAL, ADVOCATE, STRATEGIC), canonical
     * text; a missing stage uses its default built from the thresholds above (lifecycle.rules.ts).
     */
    rules: z
      .object({ LOYAL: z.string().max(10_000), ADVOCATE: z.string().max(10_000), STRATEGIC: z.string().max(10_000) })
      .partial()
      .strict()
      .optional(),
  })
  .strict();

export type LifecycleSettings = z.output<typeof lifecycleSettingsSchema>;

export const DEFAULT_LIFECYCLE: LifecycleSettings = {
  loyalMinOrders: 3,
  loyalMinSpanDays: 180,
  advocateMinPositive: 2,
  advocateWindowDays: 365,
  strategicMinReferralsBought: 2,
  churnOnHighRisk: true,
};

type Db = ScopedDb | ScopedTx;

const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** Stored settings over the defaults; an invalid stored value falls back to the defaults. */
export function lifecycleSettingsFrom(raw: Record<string, unknown>): LifecycleSettings {
  const r = lifecycleSettingsSchema.safeParse({ ...DEFAULT_LIFECYCLE, ...obj(raw.lifecycle) });
  return r.success ? r.data : DEFAULT_LIFECYCLE;
}

export async function getLifecycleSettings(db: Db): Promise<LifecycleSettings> {
  return lifecycleSettingsFrom(await readShopSettings(db));
}

export type StageRulePatch = { stage: string; rule?: string | null };
export type LifecycleSettingsPatch = { [K in Exclude<keyof LifecycleSettings, 'rules'>]?: LifecycleSettings[K] | null } & {
  /** Per stage: a rule text replaces the stage's rule, null (or omitted rule) restores the default. */
  rules?: StageRulePatch[] | null;
};

/**
 * Omitted: unchanged; null: back to the default. Issues at input.<field>; a bad stage rule at
 * input.rules.<i>.rule (the segment rule checker's ValidationError: syntax, unknown_field, ...).
 */
export async function updateLifecycleSettings(db: ScopedDb, patch: LifecycleSettingsPatch): Promise<LifecycleSettings> {
  // Rules are checked before anything is read or written: a bad rule changes nothing.
  const rulePatch: Record<string, string | null> = {};
  for (const [i, r] of (patch.rules ?? []).entries()) {
    if (r.stage in rulePatch) throw ValidationError.field(['input', 'rules', String(i), 'stage'], `${r.stage} given twice`, 'duplicate');
    checkRuleStage(r.stage, ['input', 'rules', String(i), 'stage']);
    rulePatch[r.stage] = r.rule == null ? null : checkStageRule(r.stage, r.rule, ['input', 'rules', String(i), 'rule']);
  }
  return db.$transaction(async (tx) => {
    const raw = await readShopSettings(tx);
    const next: Record<string, unknown> = { ...lifecycleSettingsFrom(raw) };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || k === 'rules') continue;
      next[k] = v === null ? DEFAULT_LIFECYCLE[k as keyof LifecycleSettings] : v;
    }
    if (patch.rules === null) delete next.rules;
    else if (patch.rules?.length) {
      const rules: Record<string, string> = { ...((next.rules as Record<string, string> | undefined) ?? {}) };
      for (const [stage, text] of Object.entries(rulePatch)) {
        if (text === null) delete rules[stage];
        else rules[stage] = text;
      }
      next.rules = Object.keys(rules).length ? rules : undefined;
      if (!next.rules) delete next.rules;
    }
    const parsed = parseInput(lifecycleSettingsSchema, next, ['input']);
    await writeSettingsSection(tx, raw, 'lifecycle', parsed);
    return parsed;
  });
}
