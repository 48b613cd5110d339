import { builder } from '../../builder.ts';
import { IdempotencyConflictError } from '../../errors.ts';
import { ShopObject } from '../auth/auth.schema.ts';
import { batchResultFields, itemResultUnion } from '../common/batch.graphql.ts';
import { COMMON_ERRORS, ErrorInterface } from '../common/common.type.ts';
import { actorOf, checkPageSize, keysetPage } from '../common/graphql-helpers.ts';
import { CustomerNode } from '../customers/customer.type.ts';
import { ORDER_ITEM_ERRORS, upsertOrders } from './order.batch.ts';
import {
  ExchangeRateMissingError,
  orderWhere,
  setBaseCurrency,
  setExchangeRate,
  setOrderExcluded,
  upsertOrderIdempotent,
} from './order.service.ts';
import { ExchangeRateObject, OrderChannelEnum, OrderNode, OrderStatusEnum } from './order.type.ts';

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
    refunded: t.field({
      type: 'Decimal',
      description:
        "Refunded so far, in the order's currency (a partial refund; at most total). Default: unchanged (0 for a new order). The refunded part never counts.",
    }),
    exchangeRate: t.string({
      description:
        '1 unit of `currency` = this many units of the shop\'s base currency (a decimal string, at most 10 places, e.g. "0.0061"). Not needed in the base currency; without it the shop\'s rate (setExchangeRate) is used, else ExchangeRateMissingError.',
    }),
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

const UpsertOrdersInput = builder.inputType('UpsertOrdersInput', {
  fields: (t) => ({
    items: t.field({
      type: [UpsertOrderInput],
      required: true,
      description:
        'At most 500 orders, each as upsertOrder takes it (without an idempotencyKey of its own); more is a ValidationError and nothing is written.',
    }),
    idempotencyKey: t.string({
      description: 'Retries with the same key and items return the stored results without writing; other items: IdempotencyConflictError.',
    }),
  }),
});

const UpsertOrdersItemResult = itemResultUnion('UpsertOrdersItemResult', UpsertOrderPayload, ORDER_ITEM_ERRORS, (v) => ({
  order: v.row,
  created: v.created,
}));

const UpsertOrdersPayload = builder.objectRef<Awaited<ReturnType<typeof upsertOrders>>>('UpsertOrdersPayload').implement({
  description: 'Per item, in input order: the upserted order or the typed error of that item (which changed nothing).',
  fields: (t) => batchResultFields(t, UpsertOrdersItemResult),
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
      resolve: async (query, _r, args, ctx) => {
        const { db } = ctx;
        checkPageSize(args);
        const page = await keysetPage(query, 'placedAt', 'desc', (id) => db.order.findFirst({ where: { id }, select: { placedAt: true } }));
        return db.order.findMany({ ...query, where: { AND: [listWhere(args.filter), page.where] }, orderBy: page.orderBy });
      },
    },
    {},
  ),
}));

builder.objectType(ExchangeRateMissingError, {
  name: 'ExchangeRateMissingError',
  description: "The order is not in the shop's base currency and no exchange rate was given or set by the shop; nothing was changed.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    currency: t.exposeString('currency'),
    baseCurrency: t.exposeString('baseCurrency'),
  }),
});

const SetOrderExcludedInput = builder.inputType('SetOrderExcludedInput', {
  fields: (t) => ({
    orderId: t.globalID({ required: true, for: OrderNode }),
    excluded: t.boolean({
      required: true,
      description: 'true: the order stops counting in every metric (points, stage, loyalty, KPIs, segments).',
    }),
    reason: t.string({ description: 'Why, e.g. "placed under a borrowed identity" (at most 500 characters).' }),
  }),
});

const SetExchangeRateInput = builder.inputType('SetExchangeRateInput', {
  fields: (t) => ({
    currency: t.string({ required: true, description: 'ISO 4217 code, not the base currency.' }),
    rate: t.string({
      required: true,
      description: '1 unit of `currency` = `rate` units of the base currency (positive, at most 10 decimals).',
    }),
  }),
});

const SetExchangeRatePayload = builder.objectRef<{ rate: unknown; convertedOrders: number }>('SetExchangeRatePayload').implement({
  fields: (t) => ({
    rate: t.field({ type: ExchangeRateObject, resolve: (r) => r.rate as never }),
    convertedOrders: t.exposeInt('convertedOrders', {
      description: 'Orders in this currency that had no rate yet (recorded before base currencies) and were converted now.',
    }),
  }),
});

const SetBaseCurrencyInput = builder.inputType('SetBaseCurrencyInput', {
  fields: (t) => ({ currency: t.string({ required: true, description: 'ISO 4217 code.' }) }),
});

builder.queryFields((t) => ({
  exchangeRates: t.prismaField({
    authScopes: { scope: 'orders:read' },
    type: [ExchangeRateObject],
    description: "The shop's exchange rates to its base currency, by currency.",
    resolve: (query, _r, _a, ctx) => ctx.db.exchangeRate.findMany({ ...query, orderBy: { currency: 'asc' } }),
  }),
}));

builder.mutationFields((t) => ({
  setOrderExcluded: t.field({
    authScopes: { scope: 'orders:write' },
    type: OrderNode,
    description:
      "Excludes an order from the customer's metrics (e.g. placed under a borrowed identity) or includes it again. It stays visible but stops counting everywhere. Staff or system (secret key).",
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'SetOrderExcludedSuccess' },
      union: { name: 'SetOrderExcludedResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: SetOrderExcludedInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      return setOrderExcluded(ctx.db, actorOf(ctx), { ...input, orderId: input.orderId.id }) as never;
    },
  }),
  setExchangeRate: t.field({
    authScopes: { scope: 'orders:write', role: 'MANAGER' },
    type: SetExchangeRatePayload,
    description:
      "Sets the shop's rate for a currency (used for orders without their own rate). Orders still without a rate in that currency are converted. Owners / managers / system only.",
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'SetExchangeRateSuccess' },
      union: { name: 'SetExchangeRateResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: SetExchangeRateInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      return setExchangeRate(ctx.db, input);
    },
  }),
  setBaseCurrency: t.field({
    authScopes: { scope: 'orders:write', role: 'MANAGER' },
    type: ShopObject,
    description: "Changes the shop's base currency (only while the shop has no orders). Owners / managers / system only.",
    errors: {
      types: [...COMMON_ERRORS],
      result: { name: 'SetBaseCurrencySuccess' },
      union: { name: 'SetBaseCurrencyResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: SetBaseCurrencyInput, required: true }) },
    resolve: (_r, { input }, ctx) => {
      return setBaseCurrency(ctx.db, input) as never;
    },
  }),
  upsertOrder: t.field({
    authScopes: { scope: 'orders:write' },
    type: UpsertOrderPayload,
    description:
      'Creates or updates an order by externalId (for syncing from a commerce platform). A first non-cancelled order moves a SUSPECT/PROSPECT to FIRST_PURCHASE, a second to REPEAT.',
    errors: {
      types: [...COMMON_ERRORS, IdempotencyConflictError, ExchangeRateMissingError],
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

builder.mutationFields((t) => ({
  upsertOrders: t.field({
    authScopes: { scope: 'orders:write' },
    type: UpsertOrdersPayload,
    description:
      'upsertOrder for up to 500 orders (syncs), in one request: results per item in input order; an invalid item (unknown customer, wrong total, missing exchange rate...) is its own typed error and writes nothing, the others are written with their stage automation and events. With idempotencyKey a retry returns the stored results.',
    errors: {
      types: [...COMMON_ERRORS, IdempotencyConflictError],
      union: { name: 'UpsertOrdersResult' },
      directResult: true,
    },
    args: { input: t.arg({ type: UpsertOrdersInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      upsertOrders(
        ctx.db,
        actorOf(ctx),
        input.items.map(({ customerId, ...rest }) => ({ ...rest, customerId: customerId.id }) as never),
        input.idempotencyKey,
      ),
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
