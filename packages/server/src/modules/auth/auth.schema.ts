import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { shopIdOf } from '../../context.ts';
import { ApiKeyKind } from '../../generated/prisma/enums.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { accessOf, rowIdOf } from '../common/graphql-helpers.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { createApiKey, issueCustomerToken, revokeApiKey } from './api-key.service.ts';
import { AGENT_GRANTS, LEGACY_SCOPES, SCOPES } from './auth.policy.ts';
import { type AuthorizationSettings, getAuthorizationSettings, updateAuthorizationSettings } from './authorization.settings.ts';
import { createStaffUser, updateStaffUser } from './staff.service.ts';
import { StaffRoleEnum, StaffUserNode } from './staff.type.ts';

const ApiKeyKindEnum = builder.enumType(ApiKeyKind, {
  name: 'ApiKeyKind',
  description:
    'PUBLISHABLE keys are safe in a browser (lead capture, interaction tracking, own profile with a customer token); SECRET keys are for servers.',
});

const ApiKeyObject = builder.prismaObject('ApiKey', {
  description: 'An API key. The key itself is only shown once, when created.',
  fields: (t) => ({
    id: t.field({ type: 'ID', resolve: (k) => encodeGlobalID('ApiKey', k.id) }),
    kind: t.expose('kind', { type: ApiKeyKindEnum }),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'First characters of the key, to recognise it.' }),
    scopes: t.exposeStringList('scopes'),
    allowedOrigins: t.exposeStringList('allowedOrigins', {
      description: 'Publishable keys: browser origins allowed to use the key (empty: any origin, without credentials).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const ShopObject = builder.prismaObject('Shop', {
  fields: (t) => ({
    id: t.field({ type: 'ID', resolve: (s) => encodeGlobalID('Shop', s.id) }),
    name: t.exposeString('name'),
    slug: t.exposeString('slug'),
    baseCurrency: t.exposeString('baseCurrency', {
      description: 'ISO 4217: every metric (revenue, lifetime value, points, segments) is in this currency (setBaseCurrency).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ViewerRef = builder
  .objectRef<{ kind: 'PUBLISHABLE' | 'SECRET'; scopes: string[]; staffId: string | null; customerId: string | null }>('Viewer')
  .implement({
    description: 'Who is calling: the key kind, its scopes and the acting staff user or customer.',
    fields: (t) => ({
      keyKind: t.field({ type: ApiKeyKindEnum, resolve: (v) => v.kind }),
      scopes: t.exposeStringList('scopes'),
      staffUserId: t.field({ type: 'ID', nullable: true, resolve: (v) => (v.staffId ? encodeGlobalID('StaffUser', v.staffId) : null) }),
      customerId: t.field({ type: 'ID', nullable: true, resolve: (v) => (v.customerId ? encodeGlobalID('Customer', v.customerId) : null) }),
    }),
  });

/** Staff and keys change who may do what: not agents, unless the shop grants it (auth.policy.ts). */
const MANAGE_STAFF = { scope: 'staff:write', agentMay: 'MANAGE_STAFF' } as const;
const MANAGE_KEYS = { scope: 'keys:write', agentMay: 'MANAGE_KEYS' } as const;

builder.queryFields((t) => ({
  viewer: t.field({
    authScopes: { public: true },
    type: ViewerRef,
    nullable: true,
    description: 'The calling key; null without credentials.',
    resolve: (_r, _a, ctx) => {
      const v = ctx.viewer;
      if (v.kind === 'anonymous') return null;
      if (v.kind === 'secret') return { kind: 'SECRET' as const, scopes: [...v.keyScopes], staffId: v.staff?.id ?? null, customerId: null };
      return { kind: 'PUBLISHABLE' as const, scopes: [], staffId: null, customerId: v.customerId };
    },
  }),
  shop: t.prismaField({
    authScopes: { scope: 'contacts:read' },
    type: ShopObject,
    description: "The caller's shop.",
    resolve: async (query, _r, _a, ctx) => {
      return ctx.db.shop.findUniqueOrThrow({ ...query, where: { id: shopIdOf(ctx) } });
    },
  }),
  apiKeys: t.prismaField({
    authScopes: { scope: 'keys:read' },
    type: [ApiKeyObject],
    description: "The shop's API keys (without the keys themselves), newest first.",
    resolve: (query, _r, _a, ctx) => ctx.db.apiKey.findMany({ ...query, orderBy: { createdAt: 'desc' } }),
  }),
  staffUsers: t.prismaField({
    authScopes: { scope: 'staff:read' },
    type: [StaffUserNode],
    args: { includeInactive: t.arg.boolean({ defaultValue: false }) },
    resolve: (query, _r, args, ctx) =>
      ctx.db.staffUser.findMany({
        ...query,
        where: args.includeInactive ? {} : { active: true },
        orderBy: { name: 'asc' },
      }),
  }),
}));

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    kind: t.field({ type: ApiKeyKindEnum, required: true }),
    name: t.string({ required: true, description: 'What the key is for, e.g. "storefront".' }),
    scopes: t.stringList({
      description: `Secret keys only: any of ${SCOPES.join(', ')} (or the broader ${Object.keys(LEGACY_SCOPES).join(', ')}), at most the creating key's own; default: all the creating key holds.`,
    }),
    allowedOrigins: t.stringList({
      description: 'Publishable keys only: the browser origins (e.g. https://shop.example) allowed to use the key; none = any origin.',
    }),
  }),
});

const CreatedApiKey = builder.objectRef<{ apiKey: { id: string }; plainKey: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyObject, resolve: (r) => r.apiKey as never }),
    key: t.string({ description: 'The key. Shown only now: store it safely.', resolve: (r) => r.plainKey }),
  }),
});

const RevokeApiKeyInput = builder.inputType('RevokeApiKeyInput', {
  fields: (t) => ({ id: t.id({ required: true, description: 'Global id of a ApiKey.' }) }),
});

const CreateStaffUserInput = builder.inputType('CreateStaffUserInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    name: t.string({ required: true }),
    role: t.field({ type: StaffRoleEnum, defaultValue: 'AGENT' }),
  }),
});
const UpdateStaffUserInput = builder.inputType('UpdateStaffUserInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: StaffUserNode }),
    name: t.string(),
    role: t.field({ type: StaffRoleEnum }),
    active: t.boolean(),
  }),
});

const CreateCustomerTokenInput = builder.inputType('CreateCustomerTokenInput', {
  fields: (t) => ({
    customerId: t.globalID({ required: true, for: CustomerNode }),
    ttlSeconds: t.int({ defaultValue: 3600, description: 'Lifetime, 60..86400 seconds.' }),
  }),
});
const CustomerToken = builder.objectRef<{ token: string; expiresAt: Date }>('CustomerToken').implement({
  description: "Send as `x-customer-token` with a publishable key to read/update this customer's own profile.",
  fields: (t) => ({ token: t.exposeString('token'), expiresAt: t.expose('expiresAt', { type: 'DateTime' }) }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    authScopes: MANAGE_KEYS,
    type: CreatedApiKey,
    errors: { types: [...COMMON_ERRORS], directResult: true, union: { name: 'CreateApiKeyResult' } },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_r, { input }, ctx) => createApiKey(ctx.db, input, ctx.viewer.kind === 'secret' ? ctx.viewer.scopes : new Set()),
  }),
  revokeApiKey: t.field({
    authScopes: MANAGE_KEYS,
    type: ApiKeyObject,
    description: 'Revokes a key at once. A key cannot revoke itself.',
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'RevokeApiKeySuccess' },
      union: { name: 'RevokeApiKeyResult' },
      dataField: { name: 'apiKey' },
    },
    args: { input: t.arg({ type: RevokeApiKeyInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const key = await revokeApiKey(
        ctx.db,
        rowIdOf(String(input.id), 'ApiKey', ['input', 'id']),
        ctx.viewer.kind === 'secret' ? ctx.viewer.keyId : null,
      );
      // Committed: this instance stops accepting it now; the others on the event's doorbell.
      ctx.services.caches?.apiKeys?.invalidate(shopIdOf(ctx));
      return key;
    },
  }),
  createStaffUser: t.field({
    authScopes: MANAGE_STAFF,
    type: StaffUserNode,
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'CreateStaffUserSuccess' },
      union: { name: 'CreateStaffUserResult' },
      dataField: { name: 'staffUser' },
    },
    args: { input: t.arg({ type: CreateStaffUserInput, required: true }) },
    resolve: (_r, { input }, ctx) => createStaffUser(ctx.db, input, accessOf(ctx)),
  }),
  updateStaffUser: t.field({
    authScopes: MANAGE_STAFF,
    type: StaffUserNode,
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'UpdateStaffUserSuccess' },
      union: { name: 'UpdateStaffUserResult' },
      dataField: { name: 'staffUser' },
    },
    args: { input: t.arg({ type: UpdateStaffUserInput, required: true }) },
    resolve: (_r, { input }, ctx) => updateStaffUser(ctx.shop, input.id.id, input, accessOf(ctx)),
  }),
  createCustomerToken: t.field({
    authScopes: { scope: 'contacts:write' },
    type: CustomerToken,
    description: "Issues a short-lived token for one customer, for the storefront's 'my profile' area (secret key only).",
    errors: { types: [...COMMON_ERRORS], directResult: true, union: { name: 'CreateCustomerTokenResult' } },
    args: { input: t.arg({ type: CreateCustomerTokenInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      return issueCustomerToken(ctx.db, ctx.services.tokenSecret, shopIdOf(ctx), input.customerId.id, input.ttlSeconds ?? 3600);
    },
  }),
}));

const AgentGrantEnum = builder.enumType('AgentGrant', {
  description:
    'What a shop may let its AGENTs do (otherwise owners, managers and the shop system only): MANAGE_STAFF (create / update staff up to AGENT), MANAGE_KEYS (create / revoke API keys within their own key scopes), MANAGE_WEBHOOKS, DELETE_CUSTOMERS (delete and merge).',
  values: AGENT_GRANTS,
});
const AuthorizationSettingsRef = builder.objectRef<AuthorizationSettings>('AuthorizationSettings').implement({
  description: "The shop's authorization settings (docs/authorization.md).",
  fields: (t) => ({ agentsMay: t.field({ type: [AgentGrantEnum], resolve: (s) => s.agentsMay }) }),
});
const UpdateAuthorizationSettingsInput = builder.inputType('UpdateAuthorizationSettingsInput', {
  fields: (t) => ({
    agentsMay: t.field({ type: [AgentGrantEnum], required: true, description: 'The complete list (replaces the current one).' }),
  }),
});

builder.queryFields((t) => ({
  authorizationSettings: t.field({
    authScopes: { scope: 'staff:read' },
    type: AuthorizationSettingsRef,
    resolve: (_r, _a, ctx) => getAuthorizationSettings(ctx.db),
  }),
}));

builder.mutationFields((t) => ({
  updateAuthorizationSettings: t.field({
    authScopes: { scope: 'staff:write', role: 'OWNER' },
    type: AuthorizationSettingsRef,
    description: 'Sets what agents may do beyond their default. Owners (or the shop system) only.',
    errors: { types: [...COMMON_ERRORS], directResult: true, union: { name: 'UpdateAuthorizationSettingsResult' } },
    args: { input: t.arg({ type: UpdateAuthorizationSettingsInput, required: true }) },
    resolve: (_r, { input }, ctx) => updateAuthorizationSettings(ctx.db, input.agentsMay),
  }),
}));
