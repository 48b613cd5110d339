import { parsePrismaCursor } from '@pothos/plugin-prisma';
import { bail, col, registerFieldCompiler, registerRootCompiler } from '../../compiled/compiler.ts';
import { connectionFromRows, objectType, pageNodeSql, rowIdOrBail } from '../../compiled/connection.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { MAX_PAGE_SIZE } from '../common/graphql-helpers.ts';
import { type CustomerFilter, type CustomerSortField, customerWhere } from './customer.filters.ts';
import { customersTotalCount } from './customer.queries.ts';
import { isUuid } from './customer.service.ts';

/**
 * The customer reads on the compiled path (compiled/compiler.ts): `customers(...)` and
 * `customer(id)` in one statement each, with the Customer fields that are not plain columns or
 * relations. Every definition here mirrors a resolver in customer.type.ts / customer.queries.ts;
 * tests/compiled-reads.test.ts holds the two to the same answers.
 */

// ---------------------------------------------------------------------------------------------
// Customer fields that are not exposed columns or plain relations

registerFieldCompiler('Customer.displayName', (_c, { alias: a }) => {
  const nz = (column: string) => Prisma.sql`NULLIF(${col(a, column)}, '')`;
  // [firstName, lastName].filter(Boolean).join(' ') || company || email || phone || 'Unnamed customer'
  return Prisma.sql`COALESCE(NULLIF(concat_ws(' ', ${nz('firstName')}, ${nz('lastName')}), ''), ${nz('company')}, ${nz('email')}, ${nz('phone')}, 'Unnamed customer')`;
});

registerFieldCompiler('Customer.tags', (c, { alias: a, field, nodes }) => {
  const t = c.alias();
  const j = c.alias();
  const tag = c.objectJson(objectType(field), 'Tag', t, nodes);
  return Prisma.sql`COALESCE((SELECT json_agg(${tag} ORDER BY ${col(t, 'name')}) FROM "CustomerTag" ${Prisma.raw(j)}
    JOIN "Tag" ${Prisma.raw(t)} ON ${col(t, 'id')} = ${col(j, 'tagId')} AND ${col(t, 'shopId')} = ${col(j, 'shopId')}
    WHERE ${col(j, 'customerId')} = ${col(a, 'id')} AND ${col(j, 'shopId')} = ${col(a, 'shopId')}), '[]'::json)`;
});

/** Objects read from the customer's own row (Location; AcquisitionSource without `referrer`). */
for (const key of ['Customer.location', 'Customer.source']) {
  registerFieldCompiler(key, (c, { alias, field, nodes }) => c.objectJson(objectType(field), 'Customer', alias, nodes));
}

// ---------------------------------------------------------------------------------------------
// Query.customers

const SORT_COLUMN: Record<CustomerSortField, string> = {
  CREATED_AT: 'createdAt',
  UPDATED_AT: 'updatedAt',
  LAST_NAME: 'lastName',
  DEAL_LIKELIHOOD: 'dealLikelihood',
  EXPECTED_PURCHASE_AT: 'expectedPurchaseAt',
};
const NULLABLE_SORT = new Set<CustomerSortField>(['LAST_NAME', 'DEAL_LIKELIHOOD', 'EXPECTED_PURCHASE_AT']);

type FilterInput = Omit<CustomerFilter, 'ownerIds'> & { ownerIds?: string[] | null };

/** The filter as SQL over alias `a` (what customerWhere builds for Prisma); unsupported parts bail. */
function filterSql(a: string, f: CustomerFilter | null): Prisma.Sql {
  if (f?.tagsAny?.length || f?.tagsAll?.length || f?.search?.trim()) bail('customers: tag or text filter');
  const and: Prisma.Sql[] = [];
  const statuses = f?.statuses?.length ? f.statuses.filter((s) => s !== 'MERGED') : ['ACTIVE'];
  // One status (the default list): an equality, so the (shopId, status, createdAt, id) and
  // (shopId, status, updatedAt, id) indexes give the whole order, tie-break included.
  and.push(
    statuses.length === 1
      ? Prisma.sql`${col(a, 'status')} = ${statuses[0]}::"CustomerStatus"`
      : Prisma.sql`${col(a, 'status')} = ANY(${statuses}::text[]::"CustomerStatus"[])`,
  );
  if (f?.stages?.length) and.push(Prisma.sql`${col(a, 'stage')} = ANY(${f.stages}::text[]::"LifecycleStage"[])`);
  if (f?.sourceChannels?.length) and.push(Prisma.sql`${col(a, 'sourceChannel')} = ANY(${f.sourceChannels}::text[]::"SourceChannel"[])`);
  if (f?.sourceCampaign) and.push(Prisma.sql`${col(a, 'sourceCampaign')} = ${f.sourceCampaign}`);
  if (f?.ownerIds?.length) and.push(Prisma.sql`${col(a, 'ownerId')} = ANY(${f.ownerIds}::uuid[])`);
  if (f?.unowned) and.push(Prisma.sql`${col(a, 'ownerId')} IS NULL`);
  if (f?.createdAfter) and.push(Prisma.sql`${col(a, 'createdAt')} >= ${f.createdAfter}`);
  if (f?.createdBefore) and.push(Prisma.sql`${col(a, 'createdAt')} < ${f.createdBefore}`);
  return Prisma.join(and, ' AND ');
}

function filterOf(raw: FilterInput | null | undefined): CustomerFilter | null {
  if (!raw) return null;
  return { ...raw, ownerIds: raw.ownerIds?.map((g) => rowIdOrBail(g, 'StaffUser', 'customers: owner')) };
}

registerRootCompiler('customers', async (c, field, nodes) => {
  const node = nodes[0] ?? bail('customers');
  const args = c.args(field, node) as {
    first?: number | null;
    last?: number | null;
    after?: string | null;
    before?: string | null;
    filter?: FilterInput | null;
    orderBy?: { field?: CustomerSortField | null; direction?: 'ASC' | 'DESC' | null } | null;
  };
  if (args.last != null || args.before != null) bail('customers: backwards');
  const first = args.first ?? 20;
  if (first < 0 || first > MAX_PAGE_SIZE) bail('customers: page size');
  const filter = filterOf(args.filter);
  const sort = args.orderBy?.field ?? 'CREATED_AT';
  const desc = (args.orderBy?.direction ?? 'DESC') === 'DESC';
  const after = args.after != null ? parsePrismaCursor(args.after) : null;
  if (after !== null && (typeof after !== 'string' || !isUuid(after) || NULLABLE_SORT.has(sort))) bail('customers: cursor');

  const { connType, p, nodeSql } = pageNodeSql(c, field, nodes, 'Customer');

  const a = c.alias();
  const sortCol = SORT_COLUMN[sort];
  const dir = Prisma.raw(desc ? 'DESC' : 'ASC');
  const nulls = Prisma.raw(NULLABLE_SORT.has(sort) ? ' NULLS LAST' : '');
  const order = (x: string) => Prisma.sql`${col(x, sortCol)} ${dir}${nulls}, ${col(x, 'id')} ${dir}`;
  const take = first + 1;
  const keyset =
    after === null
      ? Prisma.empty
      : Prisma.sql` AND (${col(a, sortCol)}, ${col(a, 'id')}) ${Prisma.raw(desc ? '<=' : '>=')} (SELECT k.${Prisma.raw(`"${sortCol}"`)}, k."id" FROM "Customer" k WHERE k."shopId" = ${col(a, 'shopId')} AND k."id" = ${after}::uuid)`;
  const rows = c.ctx.rows<{ id: string; node: string | null }>(
    (shop) => Prisma.sql`SELECT ${col(p, 'shopId')}, ${col(p, 'id')}, ${nodeSql} AS "node" FROM (
      SELECT * FROM "Customer" ${Prisma.raw(a)} WHERE ${col(a, 'shopId')} = ${shop} AND ${filterSql(a, filter)}${keyset}
      ORDER BY ${order(a)} LIMIT ${take} OFFSET ${after === null ? 0 : 1}) ${Prisma.raw(p)}
    ORDER BY ${order(p)}`,
  );
  return connectionFromRows(c, connType, nodes, {
    rows: await rows,
    take,
    after: after !== null,
    fields: { totalCount: () => customersTotalCount(c.ctx, customerWhere(filter)) },
  });
});

// ---------------------------------------------------------------------------------------------
// Query.customer(id): merged duplicates resolve to their survivor (one hop, as the resolver does)

registerRootCompiler('customer', async (c, field, nodes) => {
  const node = nodes[0] ?? bail('customer');
  const { id } = c.args(field, node) as { id: string };
  const rowId = rowIdOrBail(id, 'Customer', 'customer');
  const a = c.alias();
  const obj = c.objectJson(objectType(field), 'Customer', a, nodes);
  const [row] = await c.ctx.rows<{ node: string }>(
    (shop) => Prisma.sql`SELECT ${col(a, 'shopId')}, ${obj}::text AS "node" FROM "Customer" ${Prisma.raw(a)}
      WHERE ${col(a, 'shopId')} = ${shop} AND ${col(a, 'id')} = COALESCE(
        (SELECT m."mergedIntoId" FROM "Customer" m WHERE m."shopId" = ${shop} AND m."id" = ${rowId}::uuid AND m."status" = 'MERGED'),
        ${rowId}::uuid)`,
  );
  return row ? JSON.parse(row.node) : null;
});
