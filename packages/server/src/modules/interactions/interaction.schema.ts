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
  surveyKind: z.enum(E.SurveyKind).nullish(),
  score: z.number().int('A whole number').nullish(),
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
  /** A satisfaction answer (type SURVEY_RESPONSE only): the survey's kind and its score. */
  surveyKind?: E.SurveyKind | null;
  score?: number | null;
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

/** The scale of each satisfaction survey kind, and its "very satisfied" answers (docs/loyalty.md). */
export const SURVEY_SCALES: Record<E.SurveyKind, { min: number; max: number; verySatisfiedFrom: number }> = {
  CSAT: { min: 1, max: 5, verySatisfiedFrom: 5 },
  NPS: { min: 0, max: 10, verySatisfiedFrom: 9 },
};

/**
 * The satisfaction rules of an interaction (as it will be stored): a score comes with its survey
 * kind, only on a SURVEY_RESPONSE, within the kind's scale. Returns the issue, or null.
 */
export function surveyIssue(v: {
  type: E.InteractionType;
  surveyKind: E.SurveyKind | null;
  score: number | null;
}): { field: 'surveyKind' | 'score'; message: string } | null {
  if (v.surveyKind == null) return v.score == null ? null : { field: 'surveyKind', message: 'A score needs its survey kind (CSAT or NPS)' };
  if (v.type !== 'SURVEY_RESPONSE') return { field: 'surveyKind', message: 'Only a SURVEY_RESPONSE carries a survey kind and score' };
  const s = SURVEY_SCALES[v.surveyKind];
  if (v.score == null) return { field: 'score', message: `A ${v.surveyKind} answer needs a score (${s.min}-${s.max})` };
  if (v.score < s.min || v.score > s.max) return { field: 'score', message: `A ${v.surveyKind} score is from ${s.min} to ${s.max}` };
  return null;
}
