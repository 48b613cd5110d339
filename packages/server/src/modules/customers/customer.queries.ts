import { builder } from '../../builder.ts';
import { type Context, shopIdOf } from '../../context.ts';
import { skipQuery } from '../../db/loaders.ts';
import { cachedCount } from '../../read-caches.ts';
import { checkPageSize, cursorBound } from '../common/graphql-helpers.ts';
import { buildCustomerExport, CUSTOMER_EXPORT_SCOPES, exportScope, recordDataRequest } from './customer.export.ts';
import { customerKeysetColumn, customerOrderBy, customerWhere } from './customer.filters.ts';
import { CustomerFilterInput, CustomerOrderInput } from './customer.inputs.ts';
import { findCustomerBy, isUuid } from './customer.service.ts';
import { CustomerNode, TagObject } from './customer.type.ts';

const READ = { scope: 'contacts:read' } as const;

builder.queryFields((t) => ({
  customer: t.prismaField({
    authScopes: READ,
    type: CustomerNode,
    nullable: true,
    description: 'A customer by id; merged duplicates resolve to their survivor. Null when not in this shop.',
    args: { id: t.arg.globalID({ required: true, for: CustomerNode }) },
    resolve: async (query, _root, { id }, ctx) => {
      const { db } = ctx;
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
    authScopes: READ,
    type: CustomerNode,
    nullable: true,
    description:
      'A customer by exactly one identifier: email, phone (international format) or externalId. Secondary emails/phones match too.',
    args: { email: t.arg.string(), phone: t.arg.string(), externalId: t.arg.string() },
    resolve: async (query, _root, args, ctx) => {
      const { db } = ctx;
      const found = await findCustomerBy(db, args);
      return found ? db.customer.findUnique({ ...query, where: { id: found.id } }) : skipQuery(query, null);
    },
  }),
  customers: t.prismaConnection(
    {
      authScopes: READ,
      type: CustomerNode,
      cursor: 'id',
      totalCount: (_conn, args, ctx) => {
        checkPageSize(args);
        return customersTotalCount(ctx, listWhere(args.filter));
      },
      description: 'Customers of the shop, filtered and sorted, as a Relay connection (max 100 per page).',
      args: {
        filter: t.arg({ type: CustomerFilterInput }),
        orderBy: t.arg({ type: CustomerOrderInput }),
      },
      resolve: async (query, _root, args, ctx) => {
        const { db } = ctx;
        checkPageSize(args);
        const field = args.orderBy?.field ?? 'CREATED_AT';
        const direction = args.orderBy?.direction ?? 'DESC';
        const col = customerKeysetColumn(field);
        const bound = col
          ? await cursorBound(query, col, direction === 'ASC' ? 'asc' : 'desc', (id) =>
              db.customer.findFirst({ where: { id }, select: { createdAt: true, updatedAt: true } }),
            )
          : {};
        return db.customer.findMany({
          ...query,
          where: { AND: [listWhere(args.filter), bound] },
          orderBy: customerOrderBy(field, direction),
        });
      },
    },
    {},
  ),
  tags: t.prismaField({
    authScopes: READ,
    type: [TagObject],
    description: 'All tags of the shop, by name.',
    resolve: (query, _root, _args, ctx) => {
      const { db } = ctx;
      return db.tag.findMany({ ...query, orderBy: { name: 'asc' } });
    },
  }),
}));

/** The list's total: per shop and filter, briefly cached and dropped on any event of the shop (docs/performance.md). */
export function customersTotalCount(ctx: Context, where: ReturnType<typeof customerWhere>): Promise<number> {
  return cachedCount(ctx.services.caches, shopIdOf(ctx), `customers:${JSON.stringify(where)}`, () => ctx.db.customer.count({ where }));
}

type FilterArg = (typeof CustomerFilterInput)['$inferInput'] | null | undefined;
export const listWhere = (f: FilterArg) => customerWhere(f ? { ...f, ownerIds: f.ownerIds?.map((g) => g.id) } : null);

builder.queryField('customerDataExport', (t) =>
  t.field({
    authScopes: CUSTOMER_EXPORT_SCOPES,
    type: 'JSON',
    description:
      'Everything held about the customer as one JSON document (data access request, GDPR Art. 15): profile, merged profiles and snapshots, consents with history and proof, tags, stage history, interactions, orders, follow-ups, lead history, segment memberships, loyalty metrics with explanations, points and tiers, events. `sections` lists what each part covers. Records CUSTOMER_DATA_REQUESTED. For long histories use GET /customers/{id}/export (streamed).',
    args: { id: t.arg.globalID({ required: true, for: CustomerNode }) },
    resolve: async (_root, { id }, ctx) => {
      const { db } = ctx;
      const scope = await exportScope(db, id.id);
      await recordDataRequest(db, scope, 'SECRET_KEY', 'graphql');
      return buildCustomerExport(db, scope);
    },
  }),
);
