import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { requireScope } from '../../context.ts';
import { ValidationError } from '../../errors.ts';
import { ApiKeyKind } from '../../generated/prisma/enums.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { createApiKey, issueCustomerToken, revokeApiKey, SCOPES } from './api-key.service.ts';
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
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ShopObject = builder.prismaObject('Shop', {
  fields: (t) => ({
    id: t.field({ type: 'ID', resolve: (s) => encodeGlobalID('Shop', s.id) }),
    name: t.exposeString('name'),
    slug: t.exposeString('slug'),
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

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    nullable: true,
    description: 'The calling key; null without credentials.',
    resolve: (_r, _a, ctx) => {
      const v = ctx.viewer;
      if (v.kind === 'anonymous') return null;
      if (v.kind === 'secret') return { kind: 'SECRET' as const, scopes: [...v.scopes], staffId: v.staff?.id ?? null, customerId: null };
      return { kind: 'PUBLISHABLE' as const, scopes: [], staffId: null, customerId: v.customerId };
    },
  }),
  shop: t.prismaField({
    type: ShopObject,
    description: "The caller's shop.",
    resolve: async (query, _r, _a, ctx) => {
      const { db, shopId } = requireScope(ctx, 'customers:read');
      return db.shop.findUniqueOrThrow({ ...query, where: { id: shopId } });
    },
  }),
  apiKeys: t.prismaField({
    type: [ApiKeyObject],
    description: "The shop's API keys (without the keys themselves), newest first.",
    resolve: (query, _r, _a, ctx) => requireScope(ctx, 'keys:manage').db.apiKey.findMany({ ...query, orderBy: { createdAt: 'desc' } }),
  }),
  staffUsers: t.prismaField({
    type: [StaffUserNode],
    args: { includeInactive: t.arg.boolean({ defaultValue: false }) },
    resolve: (query, _r, args, ctx) =>
      requireScope(ctx, 'staff:read').db.staffUser.findMany({
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
    scopes: t.stringList({ description: `Secret keys only; default all: ${SCOPES.join(', ')}.` }),
  }),
});

const CreatedApiKey = builder.objectRef<{ apiKey: { id: string }; plainKey: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyObject, resolve: (r) => r.apiKey as never }),
    key: t.string({ description: 'The key. Shown only now: store it safely.', resolve: (r) => r.plainKey }),
  }),
});

const IdInput = (name: string, forType: string) =>
  builder.inputType(name, { fields: (t) => ({ id: t.id({ required: true, description: `Global id of a ${forType}.` }) }) });
const RevokeApiKeyInput = IdInput('RevokeApiKeyInput', 'ApiKey');

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

function decodeId(gid: string, typename: string, path: string[]): string {
  try {
    const [type, id] = Buffer.from(gid, 'base64').toString('utf8').split(':');
    if (type === typename && id) return id;
  } catch {}
  throw ValidationError.field(path, `Not a ${typename} id`);
}

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    errors: { types: [...COMMON_ERRORS], directResult: true, union: { name: 'CreateApiKeyResult' } },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_r, { input }, ctx) => createApiKey(requireScope(ctx, 'keys:manage').db, input),
  }),
  revokeApiKey: t.field({
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
      const { db, shopId } = requireScope(ctx, 'keys:manage');
      const key = await revokeApiKey(
        db,
        decodeId(String(input.id), 'ApiKey', ['input', 'id']),
        ctx.viewer.kind === 'secret' ? ctx.viewer.keyId : null,
      );
      // Committed: this instance stops accepting it now; the others on the event's doorbell.
      ctx.services.caches?.apiKeys?.invalidate(shopId);
      return key;
    },
  }),
  createStaffUser: t.field({
    type: StaffUserNode,
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'CreateStaffUserSuccess' },
      union: { name: 'CreateStaffUserResult' },
      dataField: { name: 'staffUser' },
    },
    args: { input: t.arg({ type: CreateStaffUserInput, required: true }) },
    resolve: (_r, { input }, ctx) => createStaffUser(requireScope(ctx, 'staff:write').db, input),
  }),
  updateStaffUser: t.field({
    type: StaffUserNode,
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'UpdateStaffUserSuccess' },
      union: { name: 'UpdateStaffUserResult' },
      dataField: { name: 'staffUser' },
    },
    args: { input: t.arg({ type: UpdateStaffUserInput, required: true }) },
    resolve: (_r, { input }, ctx) => updateStaffUser(requireScope(ctx, 'staff:write').db, input.id.id, input),
  }),
  createCustomerToken: t.field({
    type: CustomerToken,
    description: "Issues a short-lived token for one customer, for the storefront's 'my profile' area (secret key only).",
    errors: { types: [...COMMON_ERRORS], directResult: true, union: { name: 'CreateCustomerTokenResult' } },
    args: { input: t.arg({ type: CreateCustomerTokenInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db, shopId } = requireScope(ctx, 'customers:write');
      return issueCustomerToken(db, ctx.services.tokenSecret, shopId, input.customerId.id, input.ttlSeconds ?? 3600);
    },
  }),
}));
