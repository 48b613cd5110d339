import { z } from 'zod';
import { inTransaction, type ScopedDb } from '../../db/tenant.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { Customer } from '../../generated/prisma/client.ts';
import * as E from '../../generated/prisma/enums.ts';
import { stitchVisitor } from '../behaviour/track.service.ts';
import { withIdempotency } from '../common/idempotency.ts';
import { parseInput } from '../common/validate.ts';
import { referrerByCode } from '../customers/customer.referral.ts';
import { emailSchema, phoneSchema, sourceSchema } from '../customers/customer.schema.ts';
import * as customers from '../customers/customer.service.ts';
import { interactionFieldsSchema, PUBLIC_INTERACTION_TYPES } from './interaction.schema.ts';
import { type InteractionSource, recordInteraction } from './interaction.service.ts';

/**
 * Storefront ingestion: what a browser with a publishable key may send. A lead form creates or
 * updates a PROSPECT (matched by email, then phone) and records a REGISTRATION or INQUIRY; a
 * tracked interaction is attached to the customer named by the customer token, or by email/phone
 * (creating the lead when new). Only public fields: no owner, stage beyond PROSPECT, notes or deal
 * likelihood. Existing customers are never overwritten from a form: missing names are filled in,
 * interests and consents added, the source set only when none was recorded.
 */
const name = z.string().trim().max(100, 'At most 100 characters');

export const leadIdentitySchema = z.object({
  email: emailSchema.nullish(),
  phone: phoneSchema.nullish(),
  firstName: name.nullish(),
  lastName: name.nullish(),
  company: z.string().trim().max(200, 'At most 200 characters').nullish(),
  productInterests: z.array(name).max(20, 'At most 20 items').nullish(),
  source: z
    .object({
      channel: sourceSchema.shape.channel,
      campaign: sourceSchema.shape.campaign,
      medium: sourceSchema.shape.medium,
      content: sourceSchema.shape.content,
      referrer: z.string().trim().max(100, 'At most 100 characters').nullish(),
    })
    .nullish(),
  consents: z
    .array(
      z.object({
        channel: z.enum(E.ConsentChannel),
        granted: z.boolean(),
        // Proof (customer.service recordConsents clips the lengths).
        wording: z.string().max(5000, 'At most 5000 characters').nullish(),
        textVersion: z.string().max(100, 'At most 100 characters').nullish(),
        legalBasis: z.enum(E.ConsentLegalBasis).nullish(),
        sourceUrl: z.string().max(2000, 'At most 2000 characters').nullish(),
        doubleOptIn: z.boolean().nullish(),
        ip: z.string().nullish(),
        userAgent: z.string().nullish(),
      }),
    )
    .max(10)
    .nullish(),
  /** The storefront visitor to stitch to the customer (docs/behaviour.md). */
  visitorId: z.uuid('A visitor id is a UUID').nullish(),
});
export type LeadIdentity = z.input<typeof leadIdentitySchema>;

const leadSchema = leadIdentitySchema.extend({
  /** A referral code from the shop's link (`?ref=CODE`): its owner becomes the new lead's referrer (customer.referral.ts). */
  referralCode: z.string().max(64, 'At most 64 characters').nullish(),
  type: z.enum(['REGISTRATION', 'INQUIRY']).nullish(),
  channel: interactionFieldsSchema.shape.channel.nullish(),
  subject: interactionFieldsSchema.shape.subject,
  message: interactionFieldsSchema.shape.body,
  metadata: interactionFieldsSchema.shape.metadata,
});
export type CaptureLeadInput = z.input<typeof leadSchema>;

const trackSchema = leadIdentitySchema.extend({
  customerId: z.string().nullish(),
  type: z.enum(E.InteractionType),
  channel: interactionFieldsSchema.shape.channel.nullish(),
  subject: interactionFieldsSchema.shape.subject,
  body: interactionFieldsSchema.shape.body,
  sentiment: interactionFieldsSchema.shape.sentiment,
  occurredAt: interactionFieldsSchema.shape.occurredAt,
  metadata: interactionFieldsSchema.shape.metadata,
  surveyKind: interactionFieldsSchema.shape.surveyKind,
  score: interactionFieldsSchema.shape.score,
});
export type TrackInteractionInput = z.input<typeof trackSchema>;

/** Who is calling: a storefront (publishable key, maybe with a customer token) or a backend. */
export type Caller = { via: InteractionSource; tokenCustomerId: string | null };

const FORM_SOURCE = 'lead-form';
const actor: customers.Actor = { staffId: null, source: FORM_SOURCE, lead: true };

type Identity = z.output<typeof leadIdentitySchema>;

/**
 * Finds the customer by email, then phone; creates a PROSPECT when none matches. `referrer` (the
 * owner of a referral code the form carried) is recorded as the referrer of a new lead, and of an
 * existing one only when no source was recorded yet (never the customer themselves).
 */
export async function identifyOrCreateLead(
  db: ScopedDb,
  p: Identity,
  referrer: Customer | null = null,
): Promise<{ customer: Customer; created: boolean }> {
  if (!p.email && !p.phone) throw ValidationError.field(['input', 'email'], 'Give an email or a phone number');
  const consents = p.consents?.map((c) => ({ ...c, source: FORM_SOURCE })) ?? null;
  let existing: Customer | null = null;
  if (p.email) existing = await customers.findCustomerBy(db, { email: p.email });
  if (!existing && p.phone) existing = await customers.findCustomerBy(db, { phone: p.phone });
  const ref = referrer && referrer.id !== existing?.id ? referrer : null;
  const source =
    p.source || ref
      ? {
          channel: p.source?.channel ?? (ref ? ('REFERRAL' as const) : null),
          campaign: p.source?.campaign ?? null,
          medium: p.source?.medium ?? null,
          content: p.source?.content ?? null,
          referrerName: p.source?.referrer ?? null,
          ...(ref ? { referrerCustomerId: ref.id } : {}),
        }
      : undefined;
  if (!existing) {
    const r = await customers.upsertCustomer(db, actor, {
      email: p.email,
      phone: p.phone,
      firstName: p.firstName,
      lastName: p.lastName,
      company: p.company,
      productInterests: p.productInterests,
      stage: 'PROSPECT',
      source,
      consents,
    });
    return r;
  }
  // Fill in, never overwrite.
  const patch: customers.UpdateCustomerInput = { consents };
  if (!existing.firstName && p.firstName) patch.firstName = p.firstName;
  if (!existing.lastName && p.lastName) patch.lastName = p.lastName;
  if (!existing.company && p.company) patch.company = p.company;
  if (p.productInterests?.length) patch.productInterests = [...new Set([...existing.productInterests, ...p.productInterests])];
  if (source && !existing.sourceChannel && !existing.sourceCampaign && !existing.sourceReferrerId && !existing.sourceReferrerName) {
    patch.source = source;
  }
  const ids: customers.UpdateCustomerInput = {};
  if (p.email && !existing.email) ids.email = p.email;
  if (p.phone && !existing.phone) ids.phone = p.phone;
  let customer: Customer;
  try {
    customer = await customers.updateCustomer(db, actor, existing.id, null, { ...patch, ...ids });
  } catch (err) {
    // The other identifier belongs to someone else: keep the customer's own.
    if (!(err instanceof ConflictError)) throw err;
    customer = await customers.updateCustomer(db, actor, existing.id, null, patch);
  }
  if (customer.stage === 'SUSPECT') {
    customer = await customers.setStage(db, actor, customer.id, 'PROSPECT', 'Left contact data in a form', 'AUTOMATIC');
  }
  return { customer, created: false };
}

export type LeadResult = { customerId: string; interactionId: string; created: boolean };

export async function captureLead(db: ScopedDb, caller: Caller, input: CaptureLeadInput, idempotencyKey?: string | null) {
  const p = parseInput(leadSchema, input, ['input']);
  if (!p.email && !p.phone) throw ValidationError.field(['input', 'email'], 'Give an email or a phone number');
  return withIdempotency<LeadResult>(db, 'captureLead', idempotencyKey, input, () =>
    // One transaction: the customer, its consents, the interaction and their events commit together
    // or not at all (nothing is half-written, and no webhook fires for a lead that failed).
    retryOnRace(() =>
      inTransaction(db, async (tx) => {
        const t = tx as unknown as ScopedDb;
        // Unknown, malformed, foreign-shop or inactive codes are ignored: the answer is the same either way.
        const referrer = await referrerByCode(t, p.referralCode);
        const { customer, created } = await identifyOrCreateLead(t, p, referrer);
        if (p.visitorId) await stitchVisitor(t, p.visitorId, customer.id, 'LEAD');
        const interaction = await recordInteraction(
          t,
          { staffId: null },
          {
            customerId: customer.id,
            channel: p.channel ?? 'WEB',
            direction: 'INBOUND',
            type: p.type ?? 'INQUIRY',
            subject: p.subject,
            body: p.message,
            metadata: p.metadata,
          },
          caller.via,
        );
        return { customerId: customer.id, interactionId: interaction.id, created };
      }),
    ),
  );
}

/**
 * A concurrent request created the same identity between our lookup and insert: the unique index
 * aborted our transaction, so run it once more (it finds and updates the other's customer).
 */
async function retryOnRace<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ConflictError || (err as { code?: string })?.code === 'P2002') return run();
    throw err;
  }
}

export type TrackResult = { customerId: string; interactionId: string };

export async function trackInteraction(db: ScopedDb, caller: Caller, input: TrackInteractionInput, idempotencyKey?: string | null) {
  const p = parseInput(trackSchema, input, ['input']);
  if (caller.via === 'storefront') {
    if (!PUBLIC_INTERACTION_TYPES.includes(p.type)) {
      throw ValidationError.field(['input', 'type'], 'This interaction type cannot be reported from a storefront');
    }
    if (p.customerId)
      throw ValidationError.field(['input', 'customerId'], 'A storefront identifies the customer by customer token, email or phone');
  }
  if (!caller.tokenCustomerId && !p.customerId && !p.email && !p.phone) {
    throw ValidationError.field(['input', 'email'], 'Identify the customer: a customer token (x-customer-token), an email or a phone');
  }
  return withIdempotency<TrackResult>(db, 'trackInteraction', idempotencyKey, { ...input, as: caller.tokenCustomerId }, async () => {
    let customerId: string;
    const known = caller.tokenCustomerId ?? p.customerId;
    if (known) {
      const c = await customers.getCustomer(db, known, true);
      if (!c || c.status === 'MERGED') throw new NotFoundError('Customer', ['input', 'customerId']);
      customerId = c.id;
    } else {
      customerId = (await identifyOrCreateLead(db, p)).customer.id;
    }
    if (p.visitorId) await stitchVisitor(db, p.visitorId, customerId, caller.tokenCustomerId ? 'TOKEN' : known ? 'API' : 'EMAIL');
    const interaction = await recordInteraction(
      db,
      { staffId: null },
      {
        customerId,
        channel: p.channel ?? 'WEB',
        direction: 'INBOUND',
        type: p.type,
        subject: p.subject,
        body: p.body,
        sentiment: p.sentiment,
        occurredAt: p.occurredAt,
        metadata: p.metadata,
        surveyKind: p.surveyKind,
        score: p.score,
      },
      caller.via,
    );
    return { customerId, interactionId: interaction.id };
  });
}
