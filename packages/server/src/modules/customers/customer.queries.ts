import { builder } from '../../builder.ts';
import { requireScope } from '../../context.ts';
import { skipQuery } from '../../db/loaders.ts';
import { ValidationError } from '../../errors.ts';
import { cachedCount } from '../../read-caches.ts';
import { customerOrderBy, customerWhere } from './customer.filters.ts';
import { CustomerFilterInput, CustomerOrderInput } from './customer.inputs.ts';
import { findCustomerBy, isUuid } from './customer.service.ts';
import { CustomerNode, TagObject } from './customer.type.ts';

const MAX_PAGE_SIZE = 100;
/** The connection would silently cap larger pages; the documented maximum is an error instead. */
function checkPageSize(args: { first?: number | null; last?: number | null }) {
  for (const k of ['first', 'last'] as const) {
    if ((args[k] ?? 0) > MAX_PAGE_SIZE) throw ValidationError.field([k], `At most ${MAX_PAGE_SIZE} per page`);
  }
}

builder.queryFields((t) => ({
  customer: t.prismaField({
    type: CustomerNode,
    nullable: true,
    description: 'A customer by id; merged duplicates resolve to their survivor. Null when not in this shop.',
    args: { id: t.arg.globalID({ required: true, for: CustomerNode }) },
    resolve: async (query, _root, { id }, ctx) => {
      const { db } = requireScope(ctx, 'customers:read');
      if (!isUuid(id.id)) return skipQuery(query, null);
      // Select mode: also the two columns that tell a merged duplicate.
      const q = query as { select?: Record<string, unknown> };
      const c = await db.customer.findUnique({
        ...query,
        ...(q.select ? { select: { ...q.select, status: true, mergedIntoId: true } } : {}),
        where: { id: id.id },
      });
      if (c?.status === 'MERGED' && c.mergedIntoId) return db.customer.findUnique({ ...query, where: { id: c.mergedIntoId } });
      return c;
    },
  }),
  customerBy: t.prismaField({
    type: CustomerNode,
    nullable: true,
    description:
      'A customer by exactly one identifier: email, phone (international format) or externalId. Secondary emails/phones match too.',
    args: { email: t.arg.string(), phone: t.arg.string(), externalId: t.arg.string() },
    resolve: async (query, _root, args, ctx) => {
      const { db } = requireScope(ctx, 'customers:read');
      const found = await findCustomerBy(db, args);
      return found ? db.customer.findUnique({ ...query, where: { id: found.id } }) : skipQuery(query, null);
    },
  }),
  customers: t.prismaConnection(
    {
      type: CustomerNode,
      cursor: 'id',
      totalCount: (_conn, args, ctx) => {
        checkPageSize(args);
        const { db, shopId } = requireScope(ctx, 'customers:read');
        const where = listWhere(args.filter);
        // Per shop and filter, briefly cached and dropped on any event of the shop (docs/performance.md).
        return cachedCount(ctx.services.caches, shopId, `customers:${JSON.stringify(where)}`, () => db.customer.count({ where }));
      },
      description: 'Customers of the shop, filtered and sorted, as a Relay connection (max 100 per page).',
      args: {
        filter: t.arg({ type: CustomerFilterInput }),
        orderBy: t.arg({ type: CustomerOrderInput }),
      },
      resolve: (query, _root, args, ctx) => {
        const { db } = requireScope(ctx, 'customers:read');
        checkPageSize(args);
        return db.customer.findMany({
          ...query,
          where: listWhere(args.filter),
          orderBy: customerOrderBy(args.orderBy?.field, args.orderBy?.direction ?? 'DESC'),
        });
      },
    },
    {},
  ),
  tags: t.prismaField({
    type: [TagObject],
    description: 'All tags of the shop, by name.',
    resolve: (query, _root, _args, ctx) => {
      const { db } = requireScope(ctx, 'customers:read');
      return db.tag.findMany({ ...query, orderBy: { name: 'asc' } });
    },
  }),
}));

type FilterArg = (typeof CustomerFilterInput)['$inferInput'] | null | undefined;
const listWhere = (f: FilterArg) => customerWhere(f ? { ...f, ownerIds: f.ownerIds?.map((g) => g.id) } : null);
