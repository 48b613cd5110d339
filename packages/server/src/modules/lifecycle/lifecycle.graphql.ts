import { builder } from '../../builder.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { LifecycleStageEnum } from '../customers/customer.type.ts';
import { ruleToTree } from '../segments/segment.rule.ts';
import { RULE_STAGES, type StageRule, stageRules } from './lifecycle.rules.ts';
import {
  getLifecycleSettings,
  type LifecycleSettings,
  type LifecycleSettingsPatch,
  updateLifecycleSettings,
} from './lifecycle.settings.ts';

const LifecycleStageRuleRef = builder.objectRef<StageRule>('LifecycleStageRule').implement({
  description:
    'The rule in the segment rule language (docs/segments.md) that moves customers to a stage (LOYAL, ADVOCATE, STRATEGIC): the default built from the thresholds, or the shop\'s own (docs/customers.md "Stage rules").',
  fields: (t) => ({
    stage: t.field({ type: LifecycleStageEnum, resolve: (r) => r.stage }),
    rule: t.exposeString('text', { description: 'The rule in force, canonical text.' }),
    ruleTree: t.field({
      type: 'JSON',
      description: 'The rule in force as a tree (the SegmentRuleInput shape).',
      resolve: (r) => ruleToTree(r.rule),
    }),
    isDefault: t.exposeBoolean('isDefault', { description: 'True when the shop has not written its own rule for this stage.' }),
    defaultRule: t.exposeString('defaultText', { description: 'The default rule for this stage with the current thresholds.' }),
  }),
});

const LifecycleStageRuleInput = builder.inputType('LifecycleStageRuleInput', {
  description: 'A stage rule: `rule` (segment rule text) replaces the rule of `stage`; a null or omitted rule restores the default.',
  fields: (t) => ({
    stage: t.field({ type: LifecycleStageEnum, required: true, description: 'LOYAL, ADVOCATE or STRATEGIC (other stages take no rule).' }),
    rule: t.string({ description: 'Segment rule text, e.g. "orders.count >= 4 AND orders.total >= 500".' }),
  }),
});

const LifecycleSettingsRef = builder.objectRef<LifecycleSettings>('LifecycleSettings').implement({
  description: 'Per-shop thresholds of the automatic lifecycle ladder (docs/customers.md "The lifecycle ladder").',
  fields: (t) => ({
    loyalMinOrders: t.exposeInt('loyalMinOrders', { description: 'LOYAL: at least this many counted orders (default 3, never below 2).' }),
    loyalMinSpanDays: t.exposeInt('loyalMinSpanDays', {
      description: 'LOYAL: days between the first and the latest counted order, at least (default 180).',
    }),
    advocateMinPositive: t.exposeInt('advocateMinPositive', {
      description: 'ADVOCATE: LOYAL plus at least this many POSITIVE WORD_OF_MOUTH / REVIEW interactions (default 2)...',
    }),
    advocateWindowDays: t.exposeInt('advocateWindowDays', { description: '...in the last this many days (default 365).' }),
    strategicMinReferralsBought: t.exposeInt('strategicMinReferralsBought', {
      description: 'STRATEGIC: at least this many referred customers who bought (default 2).',
    }),
    churnOnHighRisk: t.exposeBoolean('churnOnHighRisk', {
      description: 'CHURNED: a buyer with churn risk HIGH moves to CHURNED (default true).',
    }),
    rules: t.field({
      type: [LifecycleStageRuleRef],
      description: `The rules of ${RULE_STAGES.join(', ')} in the segment rule language, defaults built from the thresholds above.`,
      resolve: (s) => {
        const r = stageRules(s);
        return RULE_STAGES.map((k) => r[k]);
      },
    }),
  }),
});

const UpdateLifecycleSettingsInput = builder.inputType('UpdateLifecycleSettingsInput', {
  description: 'A patch: omitted fields stay, null restores the default. Validated as a whole.',
  fields: (t) => ({
    loyalMinOrders: t.int(),
    loyalMinSpanDays: t.int(),
    advocateMinPositive: t.int(),
    advocateWindowDays: t.int(),
    strategicMinReferralsBought: t.int(),
    churnOnHighRisk: t.boolean(),
    rules: t.field({
      type: [LifecycleStageRuleInput],
      description:
        "Stage rules to replace (per stage; a null rule restores that stage's default; rules: null restores every default). A rule that does not parse or check is a ValidationError at input.rules.<i>.rule and changes nothing.",
    }),
  }),
});

builder.queryFields((t) => ({
  lifecycleSettings: t.field({
    authScopes: { scope: 'loyalty:read' },
    type: LifecycleSettingsRef,
    description: 'The thresholds of the automatic lifecycle ladder (defaults where not set).',
    resolve: (_r, _a, ctx) => getLifecycleSettings(ctx.db),
  }),
}));

builder.mutationFields((t) => ({
  updateLifecycleSettings: t.field({
    authScopes: { scope: 'loyalty:write', role: 'MANAGER' },
    type: LifecycleSettingsRef,
    description:
      'Changes the lifecycle ladder thresholds (applied from the next evaluation: the background pass or the next fold). Owners / managers / system only.',
    errors: {
      types: [...COMMON_ERRORS] as never,
      result: { name: 'UpdateLifecycleSettingsSuccess' },
      union: { name: 'UpdateLifecycleSettingsResult' },
      directResult: true as const,
    },
    args: { input: t.arg({ type: UpdateLifecycleSettingsInput, required: true }) },
    resolve: (_r, { input }, ctx) => updateLifecycleSettings(ctx.db, input as LifecycleSettingsPatch),
  }),
}));
