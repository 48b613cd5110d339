import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import { IdempotencyConflictError } from '../../errors.ts';
import { StaffUserNode } from '../auth/staff.type.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { actorOf, checkPageSize, keysetPage } from '../common/graphql-helpers.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { OrderNode } from '../orders/order.type.ts';
import * as svc from './interaction.service.ts';
import {
  InteractionChannelEnum,
  InteractionDirectionEnum,
  InteractionNode,
  InteractionTypeEnum,
  SentimentEnum,
  SurveyKindEnum,
} from './interaction.type.ts';

type Gid = { id: string } | null | undefined;
const idOf = (g: Gid) => (g === undefined ? undefined : (g?.id ?? null));

const RecordInteractionInput = builder.inputType('RecordInteractionInput', {
  fields: (t) => ({
    customerId: t.globalID({ required: true, for: CustomerNode }),
    channel: t.field({ type: InteractionChannelEnum, required: true }),
    direction: t.field({ type: InteractionDirectionEnum, required: true }),
    type: t.field({ type: InteractionTypeEnum, required: true }),
    subject: t.string({ description: 'At most 200 characters.' }),
    body: t.string({ description: 'What was said; at most 10000 characters.' }),
    sentiment: t.field({ type: SentimentEnum }),
    occurredAt: t.field({ type: 'DateTime', description: 'Default now; at most 1 day in the future.' }),
    staffId: t.globalID({ for: StaffUserNode, description: 'Who handled it (default: the x-crm-staff-id user).' }),
    orderId: t.globalID({ for: OrderNode, description: "One of the customer's orders." }),
    metadata: t.field({ type: 'JSON', description: 'A JSON object, at most 50 keys and 8 KB.' }),
    surveyKind: t.field({ type: SurveyKindEnum, description: 'A satisfaction answer (type SURVEY_RESPONSE): CSAT or NPS; needs score.' }),
    score: t.int({ description: 'The satisfaction score: CSAT 1-5, NPS 0-10 (with surveyKind).' }),
    idempotencyKey: t.string({ description: 'Retries with the same key and input return the first result.' }),
  }),
});

const UpdateInteractionInput = builder.inputType('UpdateInteractionInput', {
  description: 'Omitted fields stay; null clears the optional ones.',
  fields: (t) => ({
    id: t.globalID({ required: true, for: InteractionNode }),
    channel: t.field({ type: InteractionChannelEnum }),
    direction: t.field({ type: InteractionDirectionEnum }),
    type: t.field({ type: InteractionTypeEnum }),
    subject: t.string(),
    body: t.string(),
    sentiment: t.field({ type: SentimentEnum }),
    occurredAt: t.field({ type: 'DateTime' }),
    staffId: t.globalID({ for: StaffUserNode }),
    orderId: t.globalID({ for: OrderNode }),
    metadata: t.field({ type: 'JSON' }),
    surveyKind: t.field({ type: SurveyKindEnum, description: 'null clears the satisfaction answer (with score: null).' }),
    score: t.int(),
  }),
});

const InteractionIdInput = builder.inputType('InteractionIdInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: InteractionNode }) }),
});

export const InteractionFilterInput = builder.inputType('InteractionFilter', {
  fields: (t) => ({
    channels: t.field({ type: [InteractionChannelEnum] }),
    types: t.field({ type: [InteractionTypeEnum] }),
    sentiments: t.field({ type: [SentimentEnum] }),
    directions: t.field({ type: [InteractionDirectionEnum] }),
    occurredAfter: t.field({ type: 'DateTime', description: 'Inclusive.' }),
    occurredBefore: t.field({ type: 'DateTime', description: 'Exclusive.' }),
    staffIds: t.globalIDList({ for: StaffUserNode }),
    customerId: t.globalID({ for: CustomerNode }),
  }),
});

type FilterArg = (typeof InteractionFilterInput)['$inferInput'] | null | undefined;
export const interactionListWhere = (f: FilterArg) =>
  svc.interactionWhere(f ? { ...f, staffIds: f.staffIds?.map((g) => g.id), customerId: f.customerId?.id } : null);

const DeletedInteraction = builder.objectRef<{ id: string }>('DeletedInteraction').implement({
  fields: (t) => ({ deletedId: t.field({ type: 'ID', resolve: (r) => encodeGlobalID('Interaction', r.id) }) }),
});

const READ = { scope: 'orders:read' } as const;
const WRITE = { scope: 'orders:write' } as const;

const result = (name: string, extra: unknown[] = []) => ({
  types: [...COMMON_ERRORS, ...extra] as never,
  result: { name: `${name}Success` },
  union: { name: `${name}Result` },
  dataField: { name: 'interaction' },
});

builder.queryFields((t) => ({
  interactions: t.prismaConnection(
    {
      authScopes: READ,
      type: InteractionNode,
      cursor: 'id',
      description: 'Interactions of the shop, newest first (deleted ones never appear).',
      args: { filter: t.arg({ type: InteractionFilterInput }) },
      totalCount: (_c, args, ctx) => {
        checkPageSize(args);
        return ctx.db.interaction.count({ where: interactionListWhere(args.filter) });
      },
      resolve: async (query, _r, args, ctx) => {
        const { db } = ctx;
        checkPageSize(args);
        const page = await keysetPage(query, 'occurredAt', 'desc', (id) =>
          db.interaction.findFirst({ where: { id }, select: { occurredAt: true } }),
        );
        return db.interaction.findMany({
          ...query,
          where: { AND: [interactionListWhere(args.filter), page.where] },
          orderBy: page.orderBy,
        });
      },
    },
    {},
  ),
}));

builder.mutationFields((t) => ({
  recordInteraction: t.field({
    authScopes: WRITE,
    type: InteractionNode,
    description: 'Records a touchpoint with a customer. Pass idempotencyKey to make retries safe.',
    errors: result('RecordInteraction', [IdempotencyConflictError]),
    args: { input: t.arg({ type: RecordInteractionInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db } = ctx;
      const { idempotencyKey, customerId, staffId, orderId, ...rest } = input;
      return svc.recordInteractionIdempotent(
        db,
        actorOf(ctx),
        { ...rest, customerId: customerId.id, staffId: idOf(staffId), orderId: idOf(orderId) } as never,
        idempotencyKey,
      );
    },
  }),
  updateInteraction: t.field({
    authScopes: WRITE,
    type: InteractionNode,
    errors: result('UpdateInteraction'),
    args: { input: t.arg({ type: UpdateInteractionInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db } = ctx;
      const { id, staffId, orderId, ...rest } = input;
      return svc.updateInteraction(db, id.id, { ...rest, staffId: idOf(staffId), orderId: idOf(orderId) } as never);
    },
  }),
  deleteInteraction: t.field({
    authScopes: WRITE,
    type: DeletedInteraction,
    description: 'Soft-deletes an interaction: it disappears from lists and the timeline but stays recorded.',
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'DeleteInteractionSuccess' },
      union: { name: 'DeleteInteractionResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: InteractionIdInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const { db } = ctx;
      return { id: (await svc.deleteInteraction(db, input.id.id)).id };
    },
  }),
}));

builder.prismaObjectFields(CustomerNode, (t) => ({
  interactions: t.relatedConnection('interactions', {
    cursor: 'id',
    totalCount: true,
    description: "The customer's interactions, newest first (deleted ones never appear).",
    args: { filter: t.arg({ type: InteractionFilterInput }) },
    query: (args) => ({ where: interactionListWhere(args.filter), orderBy: [{ occurredAt: 'desc' }, { id: 'desc' }] }),
  }),
}));
