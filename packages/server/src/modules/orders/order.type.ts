import { builder } from '../../builder.ts';
import * as E from '../../generated/prisma/enums.ts';
import { CustomerNode } from '../customers/customer.type.ts';

export const OrderChannelEnum = builder.enumType(E.OrderChannel, {
  name: 'OrderChannel',
  description: "OWN_STORE: the shop's own store. MARKETPLACE, OFFLINE (in store / phone), OTHER_MERCHANT (sold by a partner).",
});
export const OrderStatusEnum = builder.enumType(E.OrderStatus, { name: 'OrderStatus' });

export const OrderItemObject = builder.prismaObject('OrderItem', {
  description: 'One line of an order.',
  fields: (t) => ({
    sku: t.exposeString('sku', { nullable: true }),
    name: t.exposeString('name'),
    quantity: t.exposeInt('quantity'),
    unitPrice: t.expose('unitPrice', { type: 'Decimal' }),
    lineTotal: t.field({
      type: 'Decimal',
      description: 'quantity × unitPrice',
      resolve: (i) => i.unitPrice.mul(i.quantity).toFixed(2),
    }),
    addOn: t.exposeBoolean('addOn', { description: 'An optional add-on product or service (not what the customer had to buy).' }),
  }),
});

export const OrderNode = builder.prismaNode('Order', {
  id: { field: 'id' },
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
    items: t.relation('items', { query: { orderBy: { position: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
