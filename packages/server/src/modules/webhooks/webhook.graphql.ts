import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../../builder.ts';
import type { Context } from '../../context.ts';
import { ValidationError } from '../../errors.ts';
import type { WebhookEndpoint } from '../../generated/prisma/client.ts';
import { WebhookDeliveryStatus } from '../../generated/prisma/enums.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { checkPageSize, keysetPage } from '../common/graphql-helpers.ts';
import { EventTypeEnum } from '../events/event.graphql.ts';
import * as svc from './webhook.service.ts';

const manage = (ctx: Context) => ctx.db;
const READ = { scope: 'webhooks:read' } as const;
/** Endpoints decide where the shop's data goes: not agents, unless the shop grants MANAGE_WEBHOOKS. */
const WRITE = { scope: 'webhooks:write', agentMay: 'MANAGE_WEBHOOKS' } as const;

export const WebhookEndpointNode = builder.prismaNode('WebhookEndpoint', {
  id: { field: 'id' },
  nullable: true,
  description: 'An endpoint receiving signed event deliveries (see README: Webhooks).',
  authScopes: { scope: 'webhooks:read' },
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    url: t.exposeString('url'),
    eventTypes: t.field({
      type: [EventTypeEnum],
      description: 'Delivered event types; empty = all.',
      resolve: (e) => e.eventTypes as never,
    }),
    active: t.exposeBoolean('active'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
  }),
});

const DeliveryStatusEnum = builder.enumType(WebhookDeliveryStatus, { name: 'WebhookDeliveryStatus' });

export const WebhookDeliveryNode = builder.prismaNode('WebhookDelivery', {
  id: { field: 'id' },
  nullable: true,
  description: 'One event sent (or being sent) to one endpoint, with its attempts.',
  authScopes: { scope: 'webhooks:read' },
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    endpoint: t.relation('endpoint'),
    eventId: t.string({ description: 'The event id (X-CRM-Event-Id).', resolve: (d) => String(d.eventId) }),
    eventType: t.field({ type: EventTypeEnum, resolve: (d) => d.eventType as never }),
    payload: t.expose('payload', { type: 'JSON', description: 'The JSON body sent.' }),
    status: t.expose('status', { type: DeliveryStatusEnum }),
    attempts: t.exposeInt('attempts'),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const DeliveryFilter = builder.inputType('WebhookDeliveryFilter', {
  fields: (t) => ({
    endpointId: t.globalID({ for: WebhookEndpointNode }),
    statuses: t.field({ type: [DeliveryStatusEnum] }),
    eventType: t.field({ type: EventTypeEnum }),
  }),
});

type DeliveryFilterArg = (typeof DeliveryFilter)['$inferInput'] | null | undefined;
const deliveryWhere = (f: DeliveryFilterArg) => ({
  ...(f?.endpointId ? { endpointId: f.endpointId.id } : {}),
  ...(f?.statuses?.length ? { status: { in: f.statuses } } : {}),
  ...(f?.eventType ? { eventType: f.eventType } : {}),
});

builder.queryFields((t) => ({
  webhookEndpoints: t.prismaField({
    authScopes: READ,
    type: [WebhookEndpointNode],
    description: "The shop's webhook endpoints, newest first.",
    resolve: (query, _r, _a, ctx) => manage(ctx).webhookEndpoint.findMany({ ...query, orderBy: { createdAt: 'desc' } }),
  }),
  webhookDeliveries: t.prismaConnection(
    {
      authScopes: READ,
      type: WebhookDeliveryNode,
      cursor: 'id',
      description: 'The delivery log, newest first.',
      args: { filter: t.arg({ type: DeliveryFilter }) },
      totalCount: (_c, args, ctx) => {
        checkPageSize(args);
        return manage(ctx).webhookDelivery.count({ where: deliveryWhere(args.filter) });
      },
      resolve: async (query, _r, args, ctx) => {
        checkPageSize(args);
        const deliveries = manage(ctx).webhookDelivery;
        const page = await keysetPage(query, 'createdAt', 'desc', (id) =>
          deliveries.findFirst({ where: { id }, select: { createdAt: true } }),
        );
        return deliveries.findMany({ ...query, where: { AND: [deliveryWhere(args.filter), page.where] }, orderBy: page.orderBy });
      },
    },
    {},
  ),
}));

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  fields: (t) => ({
    url: t.string({ required: true }),
    eventTypes: t.field({ type: [EventTypeEnum], description: 'Event types to deliver; omit or empty for all.' }),
  }),
});
const UpdateWebhookEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: WebhookEndpointNode }),
    url: t.string(),
    eventTypes: t.field({ type: [EventTypeEnum] }),
    active: t.boolean({ description: 'false pauses deliveries (events keep being queued when re-enabled from then on).' }),
  }),
});
const WebhookEndpointIdInput = builder.inputType('WebhookEndpointIdInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: WebhookEndpointNode }) }),
});
const RedeliverWebhookInput = builder.inputType('RedeliverWebhookInput', {
  fields: (t) => ({ id: t.globalID({ required: true, for: WebhookDeliveryNode }) }),
});

const EndpointWithSecret = builder.objectRef<WebhookEndpoint>('WebhookEndpointWithSecret').implement({
  description: 'An endpoint and its signing secret (only returned when created or rotated).',
  fields: (t) => ({
    endpoint: t.field({ type: WebhookEndpointNode, resolve: (e) => e }),
    secret: t.exposeString('secret', { description: 'whsec_…: verify X-CRM-Signature with it.' }),
  }),
});

const DeletedWebhookEndpoint = builder.objectRef<{ id: string }>('DeletedWebhookEndpoint').implement({
  fields: (t) => ({ deletedId: t.field({ type: 'ID', resolve: (r) => encodeGlobalID('WebhookEndpoint', r.id) }) }),
});

const result = (name: string, dataField?: string) => ({
  types: [...COMMON_ERRORS],
  result: { name: `${name}Success` },
  union: { name: `${name}Result` },
  ...(dataField ? { dataField: { name: dataField } } : {}),
});

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.field({
    authScopes: WRITE,
    type: EndpointWithSecret,
    description: 'Adds an endpoint; it receives events from now on. The secret is returned only here and by rotateWebhookSecret.',
    errors: { types: [...COMMON_ERRORS], union: { name: 'CreateWebhookEndpointResult' }, directResult: true },
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.createEndpoint(manage(ctx), input, ctx.services.config.webhookTargets),
  }),
  updateWebhookEndpoint: t.field({
    authScopes: WRITE,
    type: WebhookEndpointNode,
    errors: result('UpdateWebhookEndpoint', 'endpoint'),
    args: { input: t.arg({ type: UpdateWebhookEndpointInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { id, ...rest } = input;
      return svc.updateEndpoint(manage(ctx), id.id, rest, ctx.services.config.webhookTargets);
    },
  }),
  rotateWebhookSecret: t.field({
    authScopes: WRITE,
    type: EndpointWithSecret,
    errors: { types: [...COMMON_ERRORS], union: { name: 'RotateWebhookSecretResult' }, directResult: true },
    args: { input: t.arg({ type: WebhookEndpointIdInput, required: true }) },
    resolve: (_r, { input }, ctx) => svc.rotateSecret(manage(ctx), input.id.id),
  }),
  deleteWebhookEndpoint: t.field({
    authScopes: WRITE,
    type: DeletedWebhookEndpoint,
    errors: { types: [...COMMON_ERRORS], union: { name: 'DeleteWebhookEndpointResult' }, directResult: true },
    args: { input: t.arg({ type: WebhookEndpointIdInput, required: true }) },
    resolve: async (_r, { input }, ctx) => ({ id: await svc.deleteEndpoint(manage(ctx), input.id.id) }),
  }),
  redeliverWebhook: t.field({
    authScopes: WRITE,
    type: WebhookDeliveryNode,
    description: 'Sends a delivery again as soon as possible (also one that FAILED).',
    errors: result('RedeliverWebhook', 'delivery'),
    args: { input: t.arg({ type: RedeliverWebhookInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      if (!input.id.id) throw ValidationError.field(['input', 'id'], 'Required');
      return svc.redeliver(manage(ctx), input.id.id);
    },
  }),
}));
