import { parsePrismaCursor } from '@pothos/plugin-prisma';
import { decodeGlobalID as relayDecode } from '@pothos/plugin-relay';
import { type Context, shopIdOf } from '../../context.ts';
import { ValidationError } from '../../errors.ts';
import { getDatamodel } from '../../generated/pothos-types.ts';
import { type Access, SYSTEM } from '../auth/auth.policy.ts';

/**
 * GraphQL helpers shared by the modules' resolvers: the caller's shop and actor, page sizes, and
 * the one place global ids are parsed (the relay plugin's `decodeGlobalID` option and plain `ID`
 * arguments both come here, so a malformed id is a VALIDATION_FAILED, never a database error), and
 * the payload check of Prisma connection cursors (`checkPrismaCursor`, used by edge/cursor-guard.ts).
 */

export { shopIdOf };

/** The connection would silently cap larger pages; the documented maximum is an error instead. */
export const MAX_PAGE_SIZE = 100;
export function checkPageSize(args: { first?: number | null; last?: number | null }) {
  for (const k of ['first', 'last'] as const) {
    if ((args[k] ?? 0) > MAX_PAGE_SIZE) throw ValidationError.field([k], `At most ${MAX_PAGE_SIZE} per page`);
  }
}

/** Who a change is recorded for: the staff user named by x-crm-staff-id, else the key itself. */
export const actorOf = (ctx: Context): { staffId: string | null; source: 'api' } => ({
  staffId: ctx.viewer.kind === 'secret' ? (ctx.viewer.staff?.id ?? null) : null,
  source: 'api',
});

/** The caller's staff access for data-dependent policies (`<domain>.policy.ts`): the staff user, or the shop's system. */
export function accessOf(ctx: Context): Access {
  const v = ctx.viewer;
  return v.kind === 'secret' && v.staff ? { staffId: v.staff.id, role: v.staff.role } : SYSTEM;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BIGINT = /^[1-9][0-9]{0,18}$/;
/** Each model's id format, read from the Prisma datamodel (uuid columns, or BigInt for events). */
const ID_FORMAT: Record<string, RegExp> = Object.fromEntries(
  Object.entries(getDatamodel().datamodel.models).map(([name, m]) => {
    const idField = m.fields.find((f) => f.isId);
    return [name, idField?.type === 'BigInt' ? BIGINT : UUID];
  }),
);

/**
 * Decodes a global id ("Type:rowId" in base64). Throws a ValidationError when it is not one, names
 * no type of the data model, or its row id cannot be an id of that type (so it never reaches SQL).
 */
export function decodeGlobalId(globalId: string, path: string[] = []): { typename: string; id: string } {
  let decoded: { typename: string; id: string } | null = null;
  try {
    decoded = relayDecode(globalId);
  } catch {
    decoded = null;
  }
  const format = decoded ? ID_FORMAT[decoded.typename] : undefined;
  if (!decoded?.id || !format?.test(decoded.id)) {
    throw ValidationError.field(path, `Not a valid id: ${JSON.stringify(globalId.slice(0, 80))}`, 'invalid_id');
  }
  return decoded;
}

const INT8_MAX = 2n ** 63n - 1n;

/**
 * Checks a cursor of a Prisma connection paging by its model's id (`cursor: 'id'`): base64 of
 * "GPC:S:<uuid>" for a uuid-keyed model, "GPC:I:<n>" for a BigInt-keyed one (as plugin-prisma
 * writes them; `parsePrismaCursor` reads them). Throws a ValidationError at `path` for anything
 * else, so the cursor never reaches Prisma or SQL.
 */
export function checkPrismaCursor(cursor: string, model: string, path: string[]): void {
  let payload: unknown;
  try {
    payload = parsePrismaCursor(cursor);
  } catch {
    payload = undefined;
  }
  const format = ID_FORMAT[model];
  const ok =
    format === BIGINT
      ? typeof payload === 'bigint' && payload > 0n && payload <= INT8_MAX
      : typeof payload === 'string' && !!format?.test(payload);
  if (!ok) throw ValidationError.field(path, `Not a valid cursor: ${JSON.stringify(cursor.slice(0, 80))}`, 'invalid_cursor');
}

/** The row id of a global id of `typename` (a ValidationError at `path` otherwise). */
export function rowIdOf(globalId: string, typename: string, path: string[] = []): string {
  const d = decodeGlobalId(globalId, path);
  if (d.typename !== typename) throw ValidationError.field(path, `Not a ${typename} id`, 'invalid_id');
  return d.id;
}

/** The customer of a publishable key's customer token (fields declaring `customer: true` only; this narrows the type). */
export function customerSelfOf(ctx: Context): { db: Context['db']; customerId: string } {
  const v = ctx.viewer;
  if (v.kind !== 'publishable' || !v.customerId) throw new ValidationError([], 'A publishable key with an x-customer-token is required');
  return { db: ctx.db, customerId: v.customerId };
}

/**
 * The keyset bound of a page after (or before) a cursor, for a Prisma connection ordered by
 * (`field`, id). Prisma sends the cursor as `(field = v AND id <= c) OR field < v`, which
 * PostgreSQL applies as a filter to every row before the cursor: page N of a list read N pages
 * (measured: page 31 of 50 orders removed 1,499 rows by filter). Repeating the leading column as a
 * plain bound (`field <= v`; `>=` ascending; reversed for `last`/`before`, where Prisma's `take`
 * is negative) changes no result and is an index condition on the list's (shopId, field, id)
 * index, so a page reads the page and the cursor's ties. `rowAt` reads the cursor row (at least
 * `field`) in the caller's shop, e.g. `(id) => db.order.findFirst({ where: { id }, select: { placedAt: true } })`;
 * no row (gone, or not the shop's): no bound (Prisma's own condition then finds nothing).
 * Hand-written: Prisma's cursor has no such option, and Pothos passes its query on.
 */
export async function cursorBound<F extends string>(
  query: { cursor?: { id?: unknown }; take?: number },
  field: F,
  direction: 'asc' | 'desc',
  rowAt: (id: string) => Promise<{ [K in F]: Date | string | null } | null>,
): Promise<{ [K in F]?: { lte: Date | string } | { gte: Date | string } }> {
  const id = query.cursor?.id;
  if (typeof id !== 'string') return {};
  const v = (await rowAt(id))?.[field];
  if (v == null) return {};
  const before = (query.take ?? 0) < 0;
  const down = (direction === 'desc') !== before;
  return { [field]: down ? { lte: v } : { gte: v } } as { [K in F]?: { lte: Date | string } | { gte: Date | string } };
}

type Dir = 'asc' | 'desc';

/**
 * A Prisma connection ordered by (`field`, id): its `orderBy` and the `where` bound of a page after
 * a cursor (cursorBound), from the one declaration, so the bound is always the order's own leading
 * column. Each list's resolver then reads `findMany({ ...query, where: { AND: [filter, page.where] },
 * orderBy: page.orderBy })`.
 */
export async function keysetPage<F extends string>(
  query: { cursor?: { id?: unknown }; take?: number },
  field: F,
  direction: Dir,
  rowAt: (id: string) => Promise<{ [K in F]: Date | string | null } | null>,
): Promise<{ where: { [K in F]?: { lte: Date | string } | { gte: Date | string } }; orderBy: [{ [K in F]: Dir }, { id: Dir }] }> {
  const orderBy = [{ [field]: direction } as { [K in F]: Dir }, { id: direction }] as [{ [K in F]: Dir }, { id: Dir }];
  return { where: await cursorBound(query, field, direction, rowAt), orderBy };
}
