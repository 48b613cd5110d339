import { builder } from '../../builder.ts';
import * as E from '../../generated/prisma/enums.ts';
import { CustomerNode } from '../customers/customer.type.ts';

export const OrderChannelEnum = builder.enumType(E.OrderChannel, {
  name: 'OrderChannel',
  description:
    "OWN_STORE: the shop's own store. MARKETPLACE, OFFLINE (in store / phone), OTHER_MERCHANT: a purchase from a competitor (market intelligence, share of wallet): never the shop's sale, earns no points, moves no stage.",
});
export const OrderStatusEnum = builder.enumType(E.OrderStatus, { name: 'OrderStatus' });

export const OrderItemObject = builder.prismaObject('OrderItem', {
  // Select mode (docs/performance.md): only the columns the requested fields need.
  select: { id: true },
  description: 'One line of an order.',
  fields: (t) => ({
    sku: t.exposeString('sku', { nullable: true }),
    name: t.exposeString('name'),
    quantity: t.exposeInt('quantity'),
    unitPrice: t.expose('unitPrice', { type: 'Decimal' }),
    lineTotal: t.field({
      type: 'Decimal',
      description: 'quantity × unitPrice',
      select: { unitPrice: true, quantity: true },
      resolve: (i) => i.unitPrice.mul(i.quantity).toFixed(2),
    }),
    addOn: t.exposeBoolean('addOn', { description: 'An optional add-on product or service (not what the customer had to buy).' }),
  }),
});

export const OrderNode = builder.prismaNode('Order', {
  id: { field: 'id' },
  // Select mode (docs/performance.md): only the columns the requested fields need.
  select: { id: true },
  // node(id)/nodes(ids) of an id not in this shop resolve to null (not a findUniqueOrThrow error).
  nullable: true,
  description: 'An order from any channel. subtotal = Σ quantity × unitPrice (computed); total = subtotal − discount + tax + shipping.',
  authScopes: { scope: 'orders:read' },
  findUnique: (id) => ({ id }),
  fields: (t) => ({
    externalId: t.exposeString('externalId', { description: "The shop's own order id (unique per shop)." }),
    customer: t.relation('customer', { type: CustomerNode }),
    channel: t.expose('channel', { type: OrderChannelEnum }),
    status: t.expose('status', { type: OrderStatusEnum }),
    placedAt: t.expose('placedAt', { type: 'DateTime' }),
    currency: t.exposeString('currency', { description: 'ISO 4217, e.g. EUR.' }),
    subtotal: t.expose('subtotal', { type: 'Decimal' }),
    discount: t.expose('discount', { type: 'Decimal' }),
    tax: t.expose('tax', { type: 'Decimal' }),
    shipping: t.expose('shipping', { type: 'Decimal' }),
    total: t.expose('total', { type: 'Decimal' }),
    refunded: t.expose('refunded', { type: 'Decimal', description: "Refunded so far, in the order's currency." }),
    exchangeRate: t.string({
      nullable: true,
      description: "1 unit of `currency` = this many units of the shop's base currency; null: no rate yet (the order does not count).",
      select: { exchangeRate: true },
      resolve: (o) => (o.exchangeRate == null ? null : o.exchangeRate.toString()),
    }),
    baseTotal: t.expose('baseTotal', { type: 'Decimal', nullable: true, description: 'total in the base currency.' }),
    countedTotal: t.expose('countedTotal', {
      type: 'Decimal',
      nullable: true,
      description:
        "What the order adds to the shop's sales in the base currency ((total - refunded) x exchangeRate); null when it does not count: CANCELLED, REFUNDED, fully refunded, excluded, a competitor purchase or no rate (docs/money.md).",
    }),
    competitorTotal: t.expose('competitorTotal', {
      type: 'Decimal',
      nullable: true,
      description: 'For a competitor purchase (OTHER_MERCHANT) that counts as share-of-wallet data: its amount in the base currency.',
    }),
    excluded: t.exposeBoolean('excluded', { description: "Excluded by staff from the customer's metrics (setOrderExcluded)." }),
    excludedReason: t.exposeString('excludedReason', { nullable: true }),
    items: t.relation('items', { query: { orderBy: { position: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const ExchangeRateObject = builder.prismaObject('ExchangeRate', {
  description: "A shop-maintained exchange rate: 1 unit of `currency` = `rate` units of the shop's base currency.",
  fields: (t) => ({
    currency: t.exposeString('currency'),
    rate: t.string({ resolve: (r) => r.rate.toString() }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
