import { builder } from '../../builder.ts';
import { IdempotencyConflictError } from '../../errors.ts';
import { COMMON_ERRORS } from '../common/common.type.ts';
import { actorOf, checkPageSize } from '../common/graphql-helpers.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { orderWhere, upsertOrderIdempotent } from './order.service.ts';
import { OrderChannelEnum, OrderNode, OrderStatusEnum } from './order.type.ts';

/** Moved to common/graphql-helpers.ts; re-exported for modules that still import them from here. */
export { actorOf, checkPageSize };

const READ = { scope: 'orders:read' } as const;

const OrderItemInput = builder.inputType('OrderItemInput', {
  fields: (t) => ({
    sku: t.string(),
    name: t.string({ required: true }),
    quantity: t.int({ required: true, description: 'A whole number, at least 1.' }),
    unitPrice: t.field({ type: 'Decimal', required: true, description: 'Price of one unit, >= 0, at most 2 decimals.' }),
    addOn: t.boolean({ description: 'An optional add-on product/service (default false).' }),
  }),
});

const UpsertOrderInput = builder.inputType('UpsertOrderInput', {
  description:
    'An order matched by externalId: created when new, otherwise status, items and totals are replaced. subtotal is computed from the items; total, when given, must equal subtotal - discount + tax + shipping.',
  fields: (t) => ({
    externalId: t.string({ required: true, description: "The shop's own order id (unique per shop)." }),
    customerId: t.globalID({ required: true, for: CustomerNode }),
    channel: t.field({ type: OrderChannelEnum, description: 'Default OWN_STORE.' }),
    status: t.field({ type: OrderStatusEnum, description: 'Default PLACED.' }),
    placedAt: t.field({ type: 'DateTime', description: 'Default now; at most 1 day in the future.' }),
    currency: t.string({ required: true, description: 'ISO 4217 code, e.g. EUR.' }),
    items: t.field({ type: [OrderItemInput], required: true }),
    discount: t.field({ type: 'Decimal', description: 'Default "0.00".' }),
    tax: t.field({ type: 'Decimal', description: 'Default "0.00".' }),
    shipping: t.field({ type: 'Decimal', description: 'Default "0.00".' }),
    total: t.field({ type: 'Decimal', description: 'Optional check: must equal subtotal - discount + tax + shipping.' }),
    idempotencyKey: t.string({ description: 'Retries with the same key and input return the first result.' }),
  }),
});

const OrderFilterInput = builder.inputType('OrderFilter', {
  fields: (t) => ({
    statuses: t.field({ type: [OrderStatusEnum] }),
    channels: t.field({ type: [OrderChannelEnum] }),
    customerId: t.globalID({ for: CustomerNode }),
    currency: t.string(),
    externalId: t.string(),
    placedAfter: t.field({ type: 'DateTime' }),
    placedBefore: t.field({ type: 'DateTime' }),
  }),
});

const UpsertOrderPayload = builder.objectRef<{ order: unknown; created: boolean }>('UpsertOrderPayload').implement({
  fields: (t) => ({
    order: t.field({ type: OrderNode, resolve: (r) => r.order as never }),
    created: t.exposeBoolean('created', { description: 'True when no order had this externalId.' }),
  }),
});

type OrderFilterArg = (typeof OrderFilterInput)['$inferInput'] | null | undefined;
const listWhere = (f: OrderFilterArg) => orderWhere(f ? { ...f, customerId: f.customerId?.id } : null);

builder.queryFields((t) => ({
  order: t.prismaField({
    authScopes: READ,
    type: OrderNode,
    nullable: true,
    description: 'An order by id; null when not in this shop.',
    args: { id: t.arg.globalID({ required: true, for: OrderNode }) },
    resolve: (query, _r, { id }, ctx) => {
      const { db } = ctx;
      return db.order.findFirst({ ...query, where: { id: id.id } });
    },
  }),
  orders: t.prismaConnection(
    {
      authScopes: READ,
      type: OrderNode,
      cursor: 'id',
      description: 'Orders of the shop, newest (placedAt) first.',
      args: { filter: t.arg({ type: OrderFilterInput }) },
      totalCount: (_c, args, ctx) => {
        checkPageSize(args);
        return ctx.db.order.count({ where: listWhere(args.filter) });
      },
      resolve: (query, _r, args, ctx) => {
        const { db } = ctx;
        checkPageSize(args);
        return db.order.findMany({ ...query, where: listWhere(args.filter), orderBy: [{ placedAt: 'desc' }, { id: 'desc' }] });
      },
    },
    {},
  ),
}));

builder.mutationFields((t) => ({
  upsertOrder: t.field({
    authScopes: { scope: 'orders:write' },
    type: UpsertOrderPayload,
    description:
      'Creates or updates an order by externalId (for syncing from a commerce platform). A first non-cancelled order moves a SUSPECT/PROSPECT to FIRST_PURCHASE, a second to REPEAT.',
    errors: {
      types: [...COMMON_ERRORS, IdempotencyConflictError],
      result: { name: 'UpsertOrderSuccess' },
      union: { name: 'UpsertOrderResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: UpsertOrderInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      const { db } = ctx;
      const { idempotencyKey, customerId, ...rest } = input;
      return upsertOrderIdempotent(db, actorOf(ctx), { ...rest, customerId: customerId.id } as never, idempotencyKey);
    },
  }),
}));

builder.prismaObjectFields(CustomerNode, (t) => ({
  orders: t.relatedConnection('orders', {
    cursor: 'id',
    totalCount: true,
    description: "The customer's orders, newest (placedAt) first.",
    query: () => ({ orderBy: [{ placedAt: 'desc' }, { id: 'desc' }] }),
  }),
}));
