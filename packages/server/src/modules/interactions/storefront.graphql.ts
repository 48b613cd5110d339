import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import { skipQuery } from '../../db/loaders.ts';
import { IdempotencyConflictError } from '../../errors.ts';
import type { Interaction } from '../../generated/prisma/client.ts';
import { enforceIngestionLimit } from '../../rate-limit.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { consentProofFields } from '../customers/customer.inputs.ts';
import { ConsentChannelEnum, CustomerNode, SourceChannelEnum } from '../customers/customer.type.ts';
import { InteractionChannelEnum, InteractionNode, InteractionTypeEnum, SentimentEnum, SurveyKindEnum } from './interaction.type.ts';
import * as svc from './storefront.service.ts';

const LeadSourceInput = builder.inputType('LeadSourceInput', {
  description: 'Where the visitor came from (UTM-like).',
  fields: (t) => ({
    channel: t.field({ type: SourceChannelEnum }),
    campaign: t.string(),
    medium: t.string(),
    content: t.string(),
    referrer: t.string({ description: 'Who or what referred the visitor (kept as the source referrer name).' }),
  }),
});

const LeadConsentInput = builder.inputType('LeadConsentInput', {
  fields: (t) => ({
    channel: t.field({ type: ConsentChannelEnum, required: true }),
    granted: t.boolean({ required: true }),
    ...consentProofFields(t),
  }),
});

const LeadTypeEnum = builder.enumType('LeadType', { values: ['INQUIRY', 'REGISTRATION'] as const });

// biome-ignore lint/suspicious/noExplicitAny: one identity field set shared by two input types
const identityFields = (t: any) => ({
  email: t.string(),
  phone: t.string({ description: 'International format.' }),
  firstName: t.string(),
  lastName: t.string(),
  company: t.string(),
  productInterests: t.stringList(),
  source: t.field({ type: LeadSourceInput }),
  consents: t.field({ type: [LeadConsentInput], description: 'Consent decisions from the form (source "lead-form").' }),
  visitorId: t.id({
    description:
      "The storefront SDK's anonymous visitor id (a UUID; the SDK sends it itself): the visitor's behaviour events become this customer's (docs/behaviour.md).",
  }),
});

const CaptureLeadInput = builder.inputType('CaptureLeadInput', {
  description: 'A visitor leaving contact data (email or phone required). Callable with a publishable key.',
  fields: (t) => ({
    ...identityFields(t),
    type: t.field({ type: LeadTypeEnum, description: 'Default INQUIRY.' }),
    channel: t.field({ type: InteractionChannelEnum, description: 'Default WEB.' }),
    subject: t.string(),
    message: t.string(),
    metadata: t.field({ type: 'JSON' }),
    referralCode: t.string({
      description:
        "A customer's referral code from the shop's link (`?ref=CODE`; the SDK's storefront entry passes it on): a new lead's referrer becomes that customer (source channel REFERRAL unless given). Unknown codes are ignored; the answer is the same either way.",
    }),
    idempotencyKey: t.string(),
  }),
});

const TrackInteractionInput = builder.inputType('TrackInteractionInput', {
  description:
    'A touchpoint reported by a storefront. The customer is the one of the x-customer-token, else found (or created as a lead) by email/phone; secret keys may give customerId.',
  fields: (t) => ({
    ...identityFields(t),
    customerId: t.globalID({ for: CustomerNode, description: 'Secret keys only.' }),
    type: t.field({ type: InteractionTypeEnum, required: true }),
    channel: t.field({ type: InteractionChannelEnum, description: 'Default WEB.' }),
    subject: t.string(),
    body: t.string(),
    sentiment: t.field({ type: SentimentEnum }),
    occurredAt: t.field({ type: 'DateTime' }),
    metadata: t.field({ type: 'JSON' }),
    surveyKind: t.field({ type: SurveyKindEnum, description: 'A satisfaction answer (type SURVEY_RESPONSE): CSAT or NPS, with score.' }),
    score: t.int({ description: 'CSAT 1-5, NPS 0-10.' }),
    idempotencyKey: t.string(),
  }),
});

type Payload = { accepted: boolean; created: boolean | null; customerId: string | null; interaction: Interaction | null };

const CaptureLeadPayload = builder.objectRef<Payload>('CaptureLeadPayload').implement({
  description: 'Accepted. Publishable keys learn nothing more (the customer, created and interaction are null for them).',
  fields: (t) => ({
    accepted: t.exposeBoolean('accepted'),
    created: t.exposeBoolean('created', { nullable: true, description: 'Secret keys only: a new lead was created.' }),
    customer: t.prismaField({
      type: CustomerNode,
      nullable: true,
      description: 'Secret keys only.',
      resolve: (query, r, _a, ctx) =>
        r.customerId ? ctx.db.customer.findUnique({ ...query, where: { id: r.customerId } }) : skipQuery(query, null),
    }),
    interaction: t.field({ type: InteractionNode, nullable: true, description: 'Secret keys only.', resolve: (r) => r.interaction }),
  }),
});

const TrackInteractionPayload = builder.objectRef<Payload>('TrackInteractionPayload').implement({
  description: 'Accepted. Publishable keys learn nothing more (interaction is null for them).',
  fields: (t) => ({
    accepted: t.exposeBoolean('accepted'),
    interaction: t.field({ type: InteractionNode, nullable: true, description: 'Secret keys only.', resolve: (r) => r.interaction }),
  }),
});

/** Publishable keys, or secret keys with the write scope (declared per field); rate-limited per key and client IP. */
async function ingestion(ctx: Context): Promise<{ db: Context['db']; caller: svc.Caller; secret: boolean }> {
  const v = ctx.viewer;
  const { db } = ctx;
  if (v.kind === 'anonymous') throw new Error('unreachable: declared for keys only');
  await enforceIngestionLimit(ctx.services, v.keyId, ctx.clientIp);
  return {
    db,
    secret: v.kind === 'secret',
    caller: { via: v.kind === 'secret' ? 'api' : 'storefront', tokenCustomerId: v.kind === 'publishable' ? v.customerId : null },
  };
}

/** Consents from a browser (publishable key) carry its IP and user agent as proof. */
function withBrowserProof<T extends object>(ctx: Context, input: T): T {
  const consents = (input as { consents?: object[] | null }).consents;
  if (ctx.viewer.kind !== 'publishable' || !consents) return input;
  return { ...input, consents: consents.map((c) => ({ ...c, ip: ctx.clientIp, userAgent: ctx.userAgent })) };
}

const errors = (name: string) => ({
  types: [...COMMON_ERRORS, IdempotencyConflictError],
  result: { name: `${name}Success` },
  union: { name: `${name}Result` },
  directResult: true as const,
});

builder.mutationFields((t) => ({
  captureLead: t.field({
    authScopes: { $any: { publishable: true, scope: 'contacts:write' } },
    type: CaptureLeadPayload,
    description:
      'Lead capture from a storefront form (publishable key): creates or updates a PROSPECT by email/phone, records consents and a REGISTRATION/INQUIRY interaction. Rate-limited.',
    errors: errors('CaptureLead'),
    args: { input: t.arg({ type: CaptureLeadInput, required: true }) },
    resolve: async (_r, { input }, ctx): Promise<Payload> => {
      const { db, caller, secret } = await ingestion(ctx);
      const { idempotencyKey, ...rest } = input;
      const { result } = await svc.captureLead(db, caller, withBrowserProof(ctx, rest) as never, idempotencyKey);
      if (!secret) return { accepted: true, created: null, customerId: null, interaction: null };
      const interaction = await db.interaction.findUnique({ where: { id: result.interactionId } });
      return { accepted: true, created: result.created, customerId: result.customerId, interaction };
    },
  }),
  trackInteraction: t.field({
    authScopes: { $any: { publishable: true, scope: 'orders:write' } },
    type: TrackInteractionPayload,
    description:
      'An interaction reported by a storefront (publishable key; the customer from x-customer-token or email/phone) or a backend. Rate-limited.',
    errors: errors('TrackInteraction'),
    args: { input: t.arg({ type: TrackInteractionInput, required: true }) },
    resolve: async (_r, { input }, ctx): Promise<Payload> => {
      const { db, caller, secret } = await ingestion(ctx);
      const { idempotencyKey, customerId, ...rest } = input;
      const { result } = await svc.trackInteraction(
        db,
        caller,
        { ...withBrowserProof(ctx, rest), customerId: customerId?.id } as never,
        idempotencyKey,
      );
      if (!secret) return { accepted: true, created: null, customerId: null, interaction: null };
      const interaction = await db.interaction.findUnique({ where: { id: result.interactionId } });
      return { accepted: true, created: null, customerId: result.customerId, interaction };
    },
  }),
}));
