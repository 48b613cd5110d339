import { builder } from '../../builder.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import {
  getLifecycleSettings,
  type LifecycleSettings,
  type LifecycleSettingsPatch,
  updateLifecycleSettings,
} from './lifecycle.settings.ts';

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
