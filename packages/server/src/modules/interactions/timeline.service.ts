import type { ScopedDb } from '../../db/tenant.ts';
import type { TenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { getDatamodel } from '../../generated/pothos-types.ts';
import { Prisma } from '../../generated/prisma/client.ts';

/**
 * The customer timeline: interactions (not deleted), orders (at placedAt), stage transitions,
 * consent changes and storefront visits, newest first, paginated in SQL. One UNION ALL statement
 * orders by (at DESC, kind ASC, id DESC) and continues after an opaque keyset cursor (at, kind,
 * id), taking first + 1 rows, and joins the page back to the tables whose columns the caller asks
 * for (`columns`): the GraphQL timeline reads a page of plain fields in that one statement. Rows
 * not returned that way (a selection with relations) are loaded by id, one query per kind.
 *
 * Storefront behaviour appears collapsed: ONE `visit` entry per session (events without a session
 * group by their visitor id) at the session's first event, with counts per event type, the SKUs
 * viewed, the landing URL, referrer and UTM source (a page of raw page views would drown every
 * other entry). Only events stitched to the customer appear. The visit branch groups the
 * customer's events through the (shopId, customerId, occurredAt) index, so its cost grows with
 * the customer's retained events (bounded by behaviour retention), not with the shop's.
 */
export const TIMELINE_KINDS = ['consent', 'interaction', 'order', 'stage', 'visit'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];
export type TimelineEntry = { kind: TimelineKind; id: string; at: Date };

export function encodeTimelineCursor(e: TimelineEntry): string {
  return Buffer.from(JSON.stringify([e.at.toISOString(), e.kind, e.id])).toString('base64url');
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function decodeTimelineCursor(cursor: string): TimelineEntry {
  try {
    const [at, kind, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, TimelineKind, string];
    const d = new Date(at);
    if (typeof at !== 'string' || Number.isNaN(d.getTime()) || !TIMELINE_KINDS.includes(kind) || !UUID_RE.test(id)) throw new Error();
    return { at: d, kind, id };
  } catch {
    throw ValidationError.field(['after'], 'Invalid cursor');
  }
}

/** The kinds that are rows of one table, with their Prisma model. */
export const TIMELINE_MODELS = { interaction: 'Interaction', order: 'Order', stage: 'StageTransition', consent: 'ConsentChange' } as const;
export type TimelineTableKind = keyof typeof TIMELINE_MODELS;

/** The columns (Prisma scalar fields) to return with the page, per table kind. */
export type TimelineColumns = Partial<Record<TimelineTableKind, readonly string[]>>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const modelFields = (() => {
  const models = getDatamodel().datamodel.models as Record<string, { fields: readonly { name: string; kind: string }[] }>;
  const out = {} as Record<TimelineTableKind, Map<string, 'scalar' | 'enum'>>;
  for (const [kind, model] of Object.entries(TIMELINE_MODELS) as [TimelineTableKind, string][]) {
    const fields = new Map<string, 'scalar' | 'enum'>();
    for (const f of models[model]?.fields ?? []) {
      if ((f.kind === 'scalar' || f.kind === 'enum') && IDENT.test(f.name)) fields.set(f.name, f.kind);
    }
    out[kind] = fields;
  }
  return out;
})();

/** Every scalar column of a table kind's model (what an include-mode type's resolvers may read). */
export function allTimelineColumns(kind: TimelineTableKind): string[] {
  return [...modelFields[kind].keys()];
}

/**
 * The page's rows joined back to their tables: for every kind with columns, a LEFT JOIN matching
 * only that kind's entries, and its columns as `"kind.column"` (enums as text, like Prisma's).
 * Identifiers are the datamodel's field names (checked against IDENT), never input.
 */
function joinBack(columns: TimelineColumns): { select: Prisma.Sql; joins: Prisma.Sql } {
  const select: string[] = [];
  const joins: string[] = [];
  for (const [k, cols] of Object.entries(columns) as [TimelineTableKind, readonly string[]][]) {
    const table = TIMELINE_MODELS[k];
    for (const col of cols) {
      const fieldKind = modelFields[k].get(col);
      if (!fieldKind) throw new Error(`timeline: ${table}.${col} is not a column`);
      select.push(`, r_${k}."${col}"${fieldKind === 'enum' ? '::text' : ''} AS "${k}.${col}"`);
    }
    joins.push(` LEFT JOIN "${table}" r_${k} ON p.kind = '${k}' AND r_${k}."shopId" = p."shopId" AND r_${k}.id = p.id`);
  }
  return { select: Prisma.raw(select.join('')), joins: Prisma.raw(joins.join('')) };
}

/** `[column, alias]` pairs of the columns a page returns for a kind. */
const aliasesOf = (kind: TimelineTableKind, cols: readonly string[]) => cols.map((c) => [c, `${kind}.${c}`] as const);

/** Rows after the cursor in (at DESC, kind ASC, id DESC) order, for one branch of constant kind. */
function after(kind: TimelineKind, at: Prisma.Sql, c: TimelineEntry | null): Prisma.Sql {
  if (!c) return Prisma.empty;
  const cAt = c.at.toISOString();
  if (kind > c.kind) return Prisma.sql`AND ${at} <= ${cAt}::timestamptz`;
  if (kind < c.kind) return Prisma.sql`AND ${at} < ${cAt}::timestamptz`;
  return Prisma.sql`AND (${at} < ${cAt}::timestamptz OR (${at} = ${cAt}::timestamptz AND x.id < ${c.id}::uuid))`;
}

/**
 * One kind's next `limit` rows. Each branch is ordered and limited on its own, so PostgreSQL walks
 * the (customerId, at) index backwards and stops early instead of sorting every event.
 */
export function branch(kind: TimelineKind, shop: Prisma.Sql, customer: Prisma.Sql, c: TimelineEntry | null, limit: number): Prisma.Sql {
  if (kind === 'visit') {
    const at = Prisma.sql`x.at`;
    return Prisma.sql`(SELECT 'visit'::text AS kind, x.id, x.at, x."shopId" FROM (
        SELECT COALESCE(e."sessionId", e."visitorId") AS id, min(e."occurredAt") AS at, e."shopId" FROM "BehaviourEvent" e
        WHERE e."shopId" = ${shop} AND e."customerId" = ${customer} GROUP BY 1, e."shopId") x
      WHERE true ${after(kind, at, c)}
      ORDER BY x.at DESC, x.id DESC LIMIT ${limit})`;
  }
  // Identifiers are constants of this file, never input.
  const spec = {
    interaction: { table: '"Interaction"', at: '"occurredAt"', extra: 'AND x."deletedAt" IS NULL' },
    order: { table: '"Order"', at: '"placedAt"', extra: '' },
    stage: { table: '"StageTransition"', at: '"at"', extra: '' },
    consent: { table: '"ConsentChange"', at: '"changedAt"', extra: '' },
  }[kind];
  const at = Prisma.raw(`x.${spec.at}`);
  return Prisma.sql`(SELECT ${kind}::text AS kind, x.id, ${at} AS at, x."shopId" FROM ${Prisma.raw(spec.table)} x
    WHERE x."shopId" = ${shop} AND x."customerId" = ${customer} ${Prisma.raw(spec.extra)} ${after(kind, at, c)}
    ORDER BY ${at} DESC, x.id DESC LIMIT ${limit})`;
}

const compare = (a: TimelineEntry, b: TimelineEntry) =>
  b.at.getTime() - a.at.getTime() || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export type TimelinePage = { entries: TimelineEntry[]; hasNextPage: boolean };

/** A page entry; with `columns`, the entries of those kinds carry their row (`id` and the columns). */
export type TimelineRowEntry = TimelineEntry & { row?: Record<string, unknown> };

/**
 * One page of the timeline in ONE statement. With `columns`, the rows of those kinds come back
 * with the page (the page is joined back to their tables), so they need no second load; visits
 * are aggregates and are loaded by `loadVisits` when the page has any.
 */
export async function timelinePage(
  sql: TenantSql,
  customerId: string,
  opts: { first: number; after?: string | null; kinds?: TimelineKind[] | null },
  columns: TimelineColumns = {},
): Promise<{ entries: TimelineRowEntry[]; hasNextPage: boolean }> {
  if (!Number.isInteger(opts.first) || opts.first < 0 || opts.first > 100) throw ValidationError.field(['first'], 'Between 0 and 100');
  const cursor = opts.after ? decodeTimelineCursor(opts.after) : null;
  const kinds = opts.kinds?.length ? [...new Set(opts.kinds)] : [...TIMELINE_KINDS];
  if (!UUID_RE.test(customerId) || opts.first === 0) return { entries: [], hasNextPage: false };
  const { select, joins } = joinBack(columns);
  const rows = await sql<Record<string, unknown> & { kind: TimelineKind; id: string; at: Date | string }>(
    (shop) =>
      Prisma.sql`SELECT p.kind, p.id, p.at, p."shopId"${select} FROM (SELECT * FROM (${Prisma.join(
        kinds.map((k) => branch(k, shop, Prisma.sql`${customerId}::uuid`, cursor, opts.first + 1)),
        ' UNION ALL ',
      )}) AS timeline ORDER BY at DESC, kind ASC, id DESC LIMIT ${opts.first + 1}) p${joins}`,
  );
  const aliases = Object.fromEntries(
    (Object.entries(columns) as [TimelineTableKind, readonly string[]][]).map(([k, cols]) => [k, aliasesOf(k, cols)]),
  ) as Partial<Record<TimelineKind, (readonly [string, string])[]>>;
  const entries: TimelineRowEntry[] = rows
    .map((r) => {
      const e: TimelineRowEntry = { kind: r.kind, id: String(r.id), at: new Date(r.at) };
      const pairs = aliases[r.kind];
      if (pairs) {
        const row: Record<string, unknown> = { id: e.id };
        for (const [c, alias] of pairs) row[c] = r[alias];
        e.row = row;
      }
      return e;
    })
    .sort(compare);
  return { entries: entries.slice(0, opts.first), hasNextPage: entries.length > opts.first };
}

/** A storefront visit (one session of behaviour events) as the timeline shows it. */
export type VisitRow = {
  id: string;
  customerId: string;
  startedAt: Date;
  endedAt: Date;
  events: number;
  pageViews: number;
  productViews: number;
  searches: number;
  addedToCart: number;
  checkoutsStarted: number;
  durationMs: number | null;
  skus: string[];
  searchQueries: string[];
  landingUrl: string | null;
  referrer: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
};

/** The visits (session or visitor ids) of one customer, aggregated in one statement. */
export async function loadVisits(sql: TenantSql, customerId: string, ids: string[]): Promise<VisitRow[]> {
  if (!ids.length) return [];
  const first = (col: string) =>
    Prisma.sql`(array_agg(${Prisma.raw(`e."${col}"`)} ORDER BY e."occurredAt", e.id) FILTER (WHERE ${Prisma.raw(`e."${col}"`)} IS NOT NULL))[1]`;
  const rows = await sql<VisitRow>(
    (shop) => Prisma.sql`SELECT COALESCE(e."sessionId", e."visitorId") AS id, e."shopId", e."customerId",
      min(e."occurredAt") AS "startedAt", max(e."occurredAt") AS "endedAt", count(*)::int AS events,
      (count(*) FILTER (WHERE e.type = 'PAGE_VIEWED'))::int AS "pageViews",
      (count(*) FILTER (WHERE e.type = 'PRODUCT_VIEWED'))::int AS "productViews",
      (count(*) FILTER (WHERE e.type = 'SEARCHED'))::int AS searches,
      (count(*) FILTER (WHERE e.type = 'ADDED_TO_CART'))::int AS "addedToCart",
      (count(*) FILTER (WHERE e.type = 'CHECKOUT_STARTED'))::int AS "checkoutsStarted",
      sum(e."durationMs")::int AS "durationMs",
      COALESCE((array_agg(DISTINCT e.sku) FILTER (WHERE e.sku IS NOT NULL))[1:50], '{}') AS skus,
      COALESCE((array_agg(DISTINCT e."searchQuery") FILTER (WHERE e."searchQuery" IS NOT NULL))[1:20], '{}') AS "searchQueries",
      ${first('url')} AS "landingUrl", ${first('referrer')} AS referrer, ${first('utmSource')} AS "utmSource",
      ${first('utmMedium')} AS "utmMedium", ${first('utmCampaign')} AS "utmCampaign"
      FROM "BehaviourEvent" e
      WHERE e."shopId" = ${shop} AND e."customerId" = ${customerId}::uuid AND COALESCE(e."sessionId", e."visitorId") = ANY(${ids}::uuid[])
      GROUP BY 1, e."shopId", e."customerId"`,
  );
  return rows.map((r) => ({ ...r, id: String(r.id), startedAt: new Date(r.startedAt), endedAt: new Date(r.endedAt) }));
}

/** Extra findMany arguments per table kind (a Pothos `select`/`include` for the GraphQL selection). */
export type TimelineQueries = Partial<Record<TimelineTableKind, Record<string, unknown>>>;

/**
 * The rows of a page, in page order: the ones the page statement returned as they are; the others
 * with one findMany per kind present (with `queries[kind]`, e.g. the relations the selection
 * needs), visits with one grouped statement (which needs `visits`).
 */
export async function loadTimelineRows(
  db: ScopedDb,
  entries: TimelineRowEntry[],
  visits?: { sql: TenantSql; customerId: string },
  queries: TimelineQueries = {},
) {
  const ids = (k: TimelineKind) => entries.filter((e) => e.kind === k && !e.row).map((e) => e.id);
  const load = async <T extends { id: string }>(k: TimelineKind, find: (ids: string[]) => Promise<T[]>) => {
    const want = ids(k);
    return want.length ? find(want) : [];
  };
  const [interactions, orders, stages, consents] = await Promise.all([
    load('interaction', (i) => db.interaction.findMany({ ...queries.interaction, where: { id: { in: i } } }) as Promise<{ id: string }[]>),
    load('order', (i) => db.order.findMany({ ...queries.order, where: { id: { in: i } } }) as Promise<{ id: string }[]>),
    load('stage', (i) => db.stageTransition.findMany({ ...queries.stage, where: { id: { in: i } } }) as Promise<{ id: string }[]>),
    load('consent', (i) => db.consentChange.findMany({ ...queries.consent, where: { id: { in: i } } }) as Promise<{ id: string }[]>),
  ]);
  const visitRows = visits ? await load('visit', (i) => loadVisits(visits.sql, visits.customerId, i)) : [];
  const byKey = new Map<string, object>();
  for (const [k, rows] of [
    ['interaction', interactions],
    ['order', orders],
    ['stage', stages],
    ['consent', consents],
    ['visit', visitRows],
  ] as const) {
    for (const r of rows) byKey.set(`${k}:${r.id}`, r);
  }
  return entries.flatMap((e) => {
    const row = e.row ?? byKey.get(`${e.kind}:${e.id}`);
    return row ? [{ entry: { kind: e.kind, id: e.id, at: e.at } as TimelineEntry, row }] : [];
  });
}
