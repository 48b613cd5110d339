import { builder } from '../../builder.ts';
import * as E from '../../generated/prisma/enums.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { OrderNode } from '../orders/order.type.ts';

export const InteractionChannelEnum = builder.enumType(E.InteractionChannel, { name: 'InteractionChannel' });
export const InteractionDirectionEnum = builder.enumType(E.InteractionDirection, {
  name: 'InteractionDirection',
  description: 'INBOUND: the customer reached out. OUTBOUND: the shop did.',
});
export const InteractionTypeEnum = builder.enumType(E.InteractionType, {
  name: 'InteractionType',
  description:
    'What happened: inquiries, visits, messages, registrations, support before/during/after a sale, complaints, disputes, reviews, word of mouth, referrals, event attendance, survey answers, Q&A participation, suggestions, greetings, follow-up calls.',
});
export const SurveyKindEnum = builder.enumType(E.SurveyKind, {
  name: 'SurveyKind',
  description: 'A satisfaction survey: CSAT scores 1-5 ("how satisfied are you"), NPS 0-10 ("how likely are you to recommend us").',
});
export const SentimentEnum = builder.enumType(E.Sentiment, { name: 'Sentiment' });

export const InteractionNode = builder.prismaNode('Interaction', {
  id: { field: 'id' },
  // node(id)/nodes(ids) of an id not in this shop resolve to null (not a findUniqueOrThrow error).
  nullable: true,
  description: 'A touchpoint with a customer.',
  authScopes: { scope: 'orders:read' },
  findUnique: (id) => ({ id, deletedAt: null }),
  fields: (t) => ({
    customer: t.relation('customer', { type: CustomerNode }),
    channel: t.expose('channel', { type: InteractionChannelEnum }),
    direction: t.expose('direction', { type: InteractionDirectionEnum }),
    type: t.expose('type', { type: InteractionTypeEnum }),
    subject: t.exposeString('subject', { nullable: true }),
    body: t.exposeString('body', { nullable: true }),
    sentiment: t.expose('sentiment', { type: SentimentEnum, nullable: true }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime' }),
    staff: t.relation('staff', { nullable: true, description: 'The staff user who handled it.' }),
    order: t.relation('order', { type: OrderNode, nullable: true, description: 'The order it is about.' }),
    metadata: t.expose('metadata', { type: 'JSON', description: 'Free JSON object (at most 50 keys, 8 KB).' }),
    surveyKind: t.expose('surveyKind', {
      type: SurveyKindEnum,
      nullable: true,
      description: 'A SURVEY_RESPONSE with a satisfaction score: CSAT or NPS.',
    }),
    score: t.exposeInt('score', { nullable: true, description: 'The satisfaction score: CSAT 1-5, NPS 0-10.' }),
    source: t.exposeString('source', {
      description: '"api" (secret key), "storefront" (publishable key) or "import" (a bulk import).',
    }),
    externalId: t.exposeString('externalId', {
      nullable: true,
      description: "The interaction's id in the system it was imported from (unique per shop; bulk imports match re-runs by it).",
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
