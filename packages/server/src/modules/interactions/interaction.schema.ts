import { z } from 'zod';
import * as E from '../../generated/prisma/enums.ts';
import { EVENT_TIME_MESSAGE, eventTimeCheck, METADATA_LIMITS } from '../common/validate.ts';

export const metadataSchema = z
  .record(z.string().max(64, 'Keys have at most 64 characters'), z.unknown())
  .refine((o) => Object.keys(o).length <= METADATA_LIMITS.keys, `At most ${METADATA_LIMITS.keys} keys`)
  .refine(
    (o) => Buffer.byteLength(JSON.stringify(o)) <= METADATA_LIMITS.bytes,
    `Metadata must serialise to at most ${METADATA_LIMITS.bytes} bytes`,
  );

const text = (max: number) => z.string().trim().max(max, `At most ${max} characters`);

/** Fields of an interaction; `undefined` = not given (unchanged on update), `null` = cleared. */
export const interactionFieldsSchema = z.object({
  channel: z.enum(E.InteractionChannel),
  direction: z.enum(E.InteractionDirection),
  type: z.enum(E.InteractionType),
  subject: text(200).nullish(),
  body: text(10_000).nullish(),
  sentiment: z.enum(E.Sentiment).nullish(),
  occurredAt: z.date().refine(eventTimeCheck, EVENT_TIME_MESSAGE).nullish(),
  staffId: z.string().nullish(),
  orderId: z.string().nullish(),
  metadata: metadataSchema.nullish(),
});

export const recordInteractionSchema = interactionFieldsSchema.extend({ customerId: z.string() });
export const updateInteractionSchema = interactionFieldsSchema.partial();

export type InteractionFields = {
  channel: E.InteractionChannel;
  direction: E.InteractionDirection;
  type: E.InteractionType;
  subject?: string | null;
  body?: string | null;
  sentiment?: E.Sentiment | null;
  occurredAt?: Date | null;
  staffId?: string | null;
  orderId?: string | null;
  metadata?: Record<string, unknown> | null;
};
export type RecordInteractionInput = InteractionFields & { customerId: string };
export type UpdateInteractionInput = Partial<InteractionFields>;

/** Interaction types a storefront (publishable key) may report: what the customer does, not staff follow-ups. */
export const PUBLIC_INTERACTION_TYPES: E.InteractionType[] = [
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
  'OTHER',
];
