import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { shopIdOf } from '../../context.ts';
import { ValidationError } from '../../errors.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';

const RedactShopInput = builder.inputType('RedactShopInput', {
  fields: (t) => ({
    confirmSlug: t.string({ required: true, description: "The shop's slug, typed again: a guard against erasing the wrong shop." }),
  }),
});

const RedactShopPayload = builder.objectRef<{ shopId: string; redactedAt: Date }>('RedactShopPayload').implement({
  fields: (t) => ({
    shopId: t.field({ type: 'ID', resolve: (r) => encodeGlobalID('Shop', r.shopId) }),
    redactedAt: t.field({ type: 'DateTime', resolve: (r) => r.redactedAt }),
  }),
});

builder.mutationFields((t) => ({
  redactShop: t.field({
    authScopes: { scope: 'keys:write', staff: true, role: 'OWNER' },
    type: RedactShopPayload,
    description:
      "Erases the caller's shop and everything in it (customers, orders, history, staff, API keys, events): irreversible. Requires a secret key with keys:write (keys:manage) and x-crm-staff-id of an OWNER. The webhook endpoints stay to receive the final SHOP_REDACTED event.",
    errors: { types: [...COMMON_ERRORS], result: { name: 'RedactShopSuccess' }, union: { name: 'RedactShopResult' }, directResult: true },
    args: { input: t.arg({ type: RedactShopInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const { db } = ctx;
      const shopId = shopIdOf(ctx);
      const shop = await db.shop.findUniqueOrThrow({ where: { id: shopId } });
      if (input.confirmSlug !== shop.slug) throw ValidationError.field(['input', 'confirmSlug'], "Does not match the shop's slug");
      const done = await ctx.shop.erase();
      // Its keys are gone: this instance stops accepting them now (others on SHOP_REDACTED).
      ctx.services.caches?.apiKeys?.invalidate(shopId);
      return done;
    },
  }),
}));
