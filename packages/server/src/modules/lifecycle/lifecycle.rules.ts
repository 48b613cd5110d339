import { ValidationError } from '../../errors.ts';
import { normalise, parseRule, printRule, type Rule } from '../segments/segment.rule.ts';
import type { LifecycleSettings } from './lifecycle.settings.ts';

/**
 * The stage rules of the automatic ladder, written in the segment rule language
 * (docs/segments.md; docs/customers.md "Stage rules"). Three stages are decided by rules:
 *   LOYAL      default `orders.count >= 3 AND orders.spanDays >= 180`
 *   ADVOCATE   default `<LOYAL's rule> AND positiveWordOfMouth.count(within = 365d) >= 2`
 *   STRATEGIC  default `referredBuyers.count >= 2`
 * The defaults are built from the numeric thresholds (loyalMinOrders, ...), so a shop that never
 * wrote a rule keeps exactly the behaviour of the thresholds. A manager may replace any of them
 * (Shop.settings.lifecycle.rules.<STAGE>, canonical text); ADVOCATE's default follows LOYAL's rule,
 * whichever it is. Whatever the rule, the ladder keeps the domain's floors: LOYAL and ADVOCATE need
 * at least two counted orders (one purchase never counts), STRATEGIC an order of one's own.
 * FIRST_PURCHASE / REPEAT follow the order count and CHURNED the churn model; they take no rule.
 */
export const RULE_STAGES = ['LOYAL', 'ADVOCATE', 'STRATEGIC'] as const;
export type RuleStage = (typeof RULE_STAGES)[number];
export type StoredRules = Partial<Record<RuleStage, string>>;

export type StageRule = {
  stage: RuleStage;
  rule: Rule;
  /** Canonical text of the rule in force. */
  text: string;
  /** The rule in force is the default one (built from the thresholds, LOYAL's rule for ADVOCATE included). */
  isDefault: boolean;
  /** The default the shop would have with its thresholds (and its LOYAL rule, for ADVOCATE). */
  defaultText: string;
  /** False when the rule in force is exactly the thresholds' behaviour (the manual path may then check it without SQL). */
  custom: boolean;
};
export type StageRules = Record<RuleStage, StageRule>;

const cond = (field: string, op: '>=', n: number, args: { name: string; days: number }[] = []): Rule => ({
  kind: 'cond',
  field,
  args: args.map((a) => ({ name: a.name, value: { t: 'rel', n: a.days, unit: 'd' } })),
  op,
  values: [{ t: 'num', v: String(n) }],
});

export function defaultLoyalRule(s: LifecycleSettings): Rule {
  return { kind: 'and', items: [cond('orders.count', '>=', s.loyalMinOrders), cond('orders.spanDays', '>=', s.loyalMinSpanDays)] };
}
const advocateExtra = (s: LifecycleSettings) =>
  cond('positiveWordOfMouth.count', '>=', s.advocateMinPositive, [{ name: 'within', days: s.advocateWindowDays }]);
const defaultStrategicRule = (s: LifecycleSettings) => cond('referredBuyers.count', '>=', s.strategicMinReferralsBought);

/** A stored rule that no longer parses (the language changed under it) falls back to the default. */
function parsed(text: string | undefined): Rule | null {
  if (!text) return null;
  try {
    return parseRule(text);
  } catch {
    return null;
  }
}

/** The rules in force for a shop's settings. */
export function stageRules(s: LifecycleSettings): StageRules {
  const stored = s.rules ?? {};
  const loyalDefault = defaultLoyalRule(s);
  const loyalStored = parsed(stored.LOYAL);
  const loyal = loyalStored ?? loyalDefault;
  const loyalCustom = !!loyalStored && printRule(loyalStored) !== printRule(loyalDefault);
  const advocateDefault = normalise({ kind: 'and', items: [loyal, advocateExtra(s)] });
  const advocateStored = parsed(stored.ADVOCATE);
  const advocate = advocateStored ?? advocateDefault;
  const thresholdsAdvocate = printRule(normalise({ kind: 'and', items: [loyalDefault, advocateExtra(s)] }));
  const strategicDefault = defaultStrategicRule(s);
  const strategicStored = parsed(stored.STRATEGIC);
  const strategic = strategicStored ?? strategicDefault;
  const make = (stage: RuleStage, rule: Rule, def: Rule, isDefault: boolean, thresholds: string): StageRule => ({
    stage,
    rule,
    text: printRule(rule),
    isDefault,
    defaultText: printRule(def),
    custom: printRule(rule) !== thresholds,
  });
  return {
    LOYAL: { ...make('LOYAL', loyal, loyalDefault, !loyalStored, printRule(loyalDefault)), custom: loyalCustom },
    ADVOCATE: make('ADVOCATE', advocate, advocateDefault, !advocateStored, thresholdsAdvocate),
    STRATEGIC: make('STRATEGIC', strategic, strategicDefault, !strategicStored, printRule(strategicDefault)),
  };
}

/** Fields a stage rule may not read: the stage itself (a rule on the stage would keep whoever is there). */
const FORBIDDEN = new Set(['stage']);

function fieldsOf(r: Rule): string[] {
  if (r.kind === 'cond') return [r.field];
  if (r.kind === 'not') return fieldsOf(r.item);
  return r.items.flatMap(fieldsOf);
}

/** Only RULE_STAGES take a rule (ValidationError at `path`). */
export function checkRuleStage(stage: string, path: string[]): RuleStage {
  if (!(RULE_STAGES as readonly string[]).includes(stage)) {
    throw ValidationError.field(
      path,
      `Only ${RULE_STAGES.join(', ')} take a rule (FIRST_PURCHASE and REPEAT follow the order count, CHURNED the churn model, PARTNER is set by staff)`,
      'no_rule_for_stage',
    );
  }
  return stage as RuleStage;
}

/** Parses and checks a rule a manager writes for `stage` (ValidationError at `path`); returns its canonical text. */
export function checkStageRule(stage: string, text: string, path: string[]): string {
  checkRuleStage(stage, [...path.slice(0, -1), 'stage']);
  const rule = parseRule(text, path);
  const bad = fieldsOf(rule).find((f) => FORBIDDEN.has(f));
  if (bad) throw ValidationError.field(path, `A stage rule cannot read "${bad}" (it decides the stage)`, 'bad_field');
  return printRule(rule);
}
