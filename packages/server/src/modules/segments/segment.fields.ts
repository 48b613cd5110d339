import { Prisma } from '../../generated/prisma/client.ts';
import * as E from '../../generated/prisma/enums.ts';
import { competitor, competitorAmount, counted, countedAmount } from '../orders/order.counting.ts';

/**
 * The field registry of the segment rule language. Adding a field is ONE entry in `FIELDS`:
 * its name (as written in rules), type, description, optional arguments, and how it compiles:
 *   - `sql(x)`: a scalar SQL expression over the customer row `c` (columns, correlated values), or
 *     over the alias of a `join` this entry declares;
 *   - `join(x)`: an optional per-customer aggregate joined once per distinct (field, args):
 *     a Prisma.sql subquery projecting "customerId" plus the columns `sql` reads from `x.alias`;
 *   - `contains(x, value)`: for `set` fields, the membership predicate.
 * Every value reaches SQL as a bound parameter; identifiers are constants of this file.
 * The operators allowed follow from the type (see OPERATORS_BY_TYPE) unless `ops` narrows them.
 *
 * Example, a per-customer table with plain columns (e.g. loyalty scores):
 *   { name: 'loyalty.score', type: 'number', description: 'Loyalty score, 0-100.',
 *     join: (x) => Prisma.sql`SELECT l."customerId", l.score FROM "CustomerLoyalty" l
 *       WHERE l."shopId" = ${x.shop} ${restrict(x, Prisma.sql`l."customerId"`)}`,
 *     sql: (x) => Prisma.sql`${x.alias}.score` },
 *   { name: 'loyalty.churnRisk', type: 'enum', values: ['LOW', 'MEDIUM', 'HIGH'], pgType: 'ChurnRisk', ... }
 * (a text column instead of a PostgreSQL enum: type 'enum' with `values` and `pgType: undefined`
 * compares as text.)
 */
export type FieldType = 'enum' | 'string' | 'number' | 'date' | 'boolean' | 'set' | 'id' | 'json';

export type SqlCtx = {
  /** The shop id as a bound parameter. */
  shop: Prisma.Sql;
  /** "Now" of this evaluation (bound). */
  now: Date;
  /** Alias of this condition's join (when the field has one). */
  alias: Prisma.Sql;
  /** Validated argument values (see `args`). */
  args: Record<string, string | number>;
  /** Only these customers (incremental refresh): joins may restrict themselves to them. */
  onlyCustomers: string[] | null;
  /** The dynamic key of `attributes.<key>` fields (validated identifier, bound as a parameter). */
  key: string | null;
};

export type ArgDef = { type: 'enum'; values: readonly string[] } | { type: 'duration' } | { type: 'string' };

export type FieldDef = {
  name: string;
  type: FieldType;
  description: string;
  /** PostgreSQL enum type of enum fields (a constant of this file). */
  pgType?: string;
  /** Allowed values of enum fields (and of the elements of enum sets). */
  values?: readonly string[];
  /** Narrows the type's operators. */
  ops?: readonly Op[];
  args?: Record<string, ArgDef>;
  /** Scalar SQL expression (not for `set`). */
  sql?: (x: SqlCtx) => Prisma.Sql;
  /** Per-customer aggregate joined with LEFT JOIN ... ON alias."customerId" = c.id. */
  join?: (x: SqlCtx) => Prisma.Sql;
  /**
   * A storefront behaviour aggregate: every such condition of a rule becomes one column of ONE
   * grouped pass (see `eventJoins`); `sql` reads that column as `x.alias`.
   */
  events?: EventAggKind;
  /** `set` fields: predicate "the customer's set contains value". */
  contains?: (x: SqlCtx, value: Prisma.Sql) => Prisma.Sql;
  /** Fields whose name is a prefix (`attributes.` + key). */
  prefix?: boolean;
};

export const OPS = ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN', 'BETWEEN', 'CONTAINS', 'IS NULL', 'IS NOT NULL'] as const;
export type Op = (typeof OPS)[number];

export const OPERATORS_BY_TYPE: Record<FieldType, readonly Op[]> = {
  enum: ['=', '!=', 'IN', 'NOT IN', 'IS NULL', 'IS NOT NULL'],
  string: ['=', '!=', 'IN', 'NOT IN', 'CONTAINS', 'IS NULL', 'IS NOT NULL'],
  number: ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN', 'BETWEEN', 'IS NULL', 'IS NOT NULL'],
  date: ['<', '<=', '>', '>=', 'BETWEEN', 'IS NULL', 'IS NOT NULL'],
  boolean: ['=', '!='],
  set: ['CONTAINS'],
  id: ['=', '!=', 'IN', 'NOT IN', 'IS NULL', 'IS NOT NULL'],
  json: ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN', 'BETWEEN', 'CONTAINS', 'IS NULL', 'IS NOT NULL'],
};

const col = (name: string) => () => Prisma.raw(`c."${name}"`);
/** For `join` builders: limits an aggregate to the customers of an incremental refresh. */
export const restrict = (x: SqlCtx, column: Prisma.Sql) =>
  x.onlyCustomers ? Prisma.sql`AND ${column} = ANY(${x.onlyCustomers}::uuid[])` : Prisma.empty;
/** Orders that count as purchases: the one rule of orders/order.counting.ts. */
const BOUGHT = counted('o');
const since = (x: SqlCtx, column: Prisma.Sql) =>
  typeof x.args.within === 'number' ? Prisma.sql`AND ${column} >= ${new Date(x.now.getTime() - x.args.within)}::timestamptz` : Prisma.empty;

/** One grouped pass over the shop's orders, shared by every order field with the same arguments. */
const orderStats = (x: SqlCtx) => Prisma.sql`SELECT o."customerId", count(*)::int AS n, sum(${countedAmount('o')}) AS total,
  max(o."placedAt") AS last, min(o."placedAt") AS first FROM "Order" o
  WHERE o."shopId" = ${x.shop} AND ${BOUGHT} ${since(x, Prisma.sql`o."placedAt"`)} ${restrict(x, Prisma.sql`o."customerId"`)}
  GROUP BY o."customerId"`;
/** Competitor purchases (share-of-wallet data), counted by the same rule, in one grouped pass. */
const competitorStats = (x: SqlCtx) => Prisma.sql`SELECT o."customerId", count(*)::int AS n, sum(${competitorAmount('o')}) AS total
  FROM "Order" o
  WHERE o."shopId" = ${x.shop} AND ${competitor('o')} ${since(x, Prisma.sql`o."placedAt"`)} ${restrict(x, Prisma.sql`o."customerId"`)}
  GROUP BY o."customerId"`;
/** The loyalty module's per-customer metrics (one shared join for all loyalty fields of a rule). */
const loyaltyMetrics = (x: SqlCtx) => Prisma.sql`SELECT m."customerId", m."loyaltyScore", m."churnRisk", m.rfm, m."recencyScore",
  m."frequencyScore", m."monetaryScore", m."lifetimeValue", m."predictedLifetimeValue", m."csatLatest", m."npsLatest", m."verySatisfied"
  FROM "CustomerMetrics" m
  WHERE m."shopId" = ${x.shop} ${restrict(x, Prisma.sql`m."customerId"`)}`;
/** Customers referred by each customer (Customer.sourceReferrerId), and how many of them bought (a counted order). */
const referralStats = (x: SqlCtx) => Prisma.sql`SELECT rc."sourceReferrerId" AS "customerId", count(*)::int AS n,
  (count(*) FILTER (WHERE EXISTS (SELECT 1 FROM "Order" o WHERE o."shopId" = rc."shopId" AND o."customerId" = rc.id AND ${BOUGHT})))::int AS bought
  FROM "Customer" rc
  WHERE rc."shopId" = ${x.shop} AND rc."sourceReferrerId" IS NOT NULL AND rc.status <> 'MERGED' ${restrict(x, Prisma.sql`rc."sourceReferrerId"`)}
  GROUP BY rc."sourceReferrerId"`;
const WITHIN: Record<string, ArgDef> = { within: { type: 'duration' } };

// Storefront behaviour (docs/behaviour.md): only events stitched to a customer (customerId set)
// count; anonymous visitors are no segment members. events.count / events.lastSeen / events.sessions
// conditions are not one join each: the compiler collects them (`EventAgg`) and `eventJoins` turns
// them into one grouped pass, each condition a FILTERed aggregate. Counts and last times read the
// daily rollup "BehaviourDay" (see eventJoins); sessions read the events.
export type EventAggKind = 'count' | 'last' | 'sessions';
export type EventAgg = {
  kind: EventAggKind;
  type?: string;
  sku?: string;
  /** Window in ms ending at `now` (events at or after now - within). */
  within?: number;
  /**
   * events.lastSeen compared with `>`, `>=` or BETWEEN: only events at or after this bound can
   * decide the comparison (the latest of them IS the latest event when there is one; without one
   * the comparison is false either way), so only they are read.
   */
  atLeast?: Prisma.Sql;
  /** Column name of this aggregate in its join. */
  column: string;
};
const eventFilter = (x: SqlCtx) => {
  const a = x.args;
  return Prisma.sql`${a.type === undefined ? Prisma.empty : Prisma.sql`AND e.type = ${String(a.type)}::"BehaviourEventType"`}
    ${a.sku === undefined ? Prisma.empty : Prisma.sql`AND e.sku = ${String(a.sku)}::text`}
    ${since(x, Prisma.sql`e."occurredAt"`)} ${restrict(x, Prisma.sql`e."customerId"`)}`;
};
const ALL_EVENT_TYPES = Object.values(E.BehaviourEventType);
/** A UTC day ('YYYY-MM-DD'): the rollup's days are UTC days. */
const utcDay = (d: Date) => d.toISOString().slice(0, 10);
const orAll = (xs: Prisma.Sql[]) => (xs.length ? Prisma.sql`(${Prisma.join(xs, ' OR ')})` : Prisma.sql`false`);

/**
 * The joins of a rule's behaviour aggregates: `rollup` (alias `evr`) for counts and last times,
 * `raw` (alias `evx`) for sessions and, with `mode: 'raw'`, for everything (the reference the
 * rollup is tested against). Each is ONE grouped pass whatever the number of conditions: the rows
 * read are the union of the conditions' ranges, each aggregate FILTERs its own.
 *
 * The rollup ("BehaviourDay", kept exact by triggers on BehaviourEvent): a row holds one
 * customer's events of one UTC day, type and SKU with their count and first / last time. A window
 * [now - within, now] is a range of days; a row lies wholly inside it (count it), wholly outside
 * (skip it) or, on the window's first day or today only, across its edge: such rows are
 * replaced by their events (index "shopId", "customerId", "occurredAt"), so the result is the
 * events' result exactly. Rows are read through the key ("shopId", type, day, ...): per type a
 * range of days.
 */
export function eventJoins(
  aggs: EventAgg[],
  x: { shop: Prisma.Sql; now: Date; onlyCustomers: string[] | null; seenSince?: Prisma.Sql | null },
  mode: 'rollup' | 'raw',
): { rollup: Prisma.Sql | null; raw: Prisma.Sql | null } {
  const now = Prisma.sql`${x.now}::timestamptz`;
  const lo = (a: EventAgg) => (a.within === undefined ? null : new Date(x.now.getTime() - a.within));
  const only = (column: Prisma.Sql) => (x.onlyCustomers ? Prisma.sql`AND ${column} = ANY(${x.onlyCustomers}::uuid[])` : Prisma.empty);
  // `seenSince` (compileRule: the rule requires `events.lastSeen` after it): only customers with an
  // event from then to now can be members, so the rollup's grouping is limited to them. A necessary
  // condition, never a sufficient one (the rule's own condition still decides): a rollup row holding
  // such an event ends at or after it and starts at or before now. Measured on 1,000,000 events
  // (bench/README.md): 46,000 of the 73,000 customers with events seen in the last 7 days, the
  // count 260 -> 218 ms; more where recent visitors are few.
  const seen = (column: Prisma.Sql) =>
    mode === 'rollup' && x.seenSince
      ? Prisma.sql`AND ${column} IN (SELECT s."customerId" FROM "BehaviourDay" s WHERE s."shopId" = ${x.shop}
          AND s.type = ANY(${ALL_EVENT_TYPES}::"BehaviourEventType"[]) AND s.day >= (${x.seenSince} AT TIME ZONE 'UTC')::date AND s.day <= ${utcDay(x.now)}::date
          AND s."lastAt" >= ${x.seenSince} AND s."firstAt" <= ${now})`
      : Prisma.empty;
  const rolled = mode === 'rollup' ? aggs.filter((a) => a.kind !== 'sessions') : [];
  const rawAggs = aggs.filter((a) => !rolled.includes(a));

  let rollup: Prisma.Sql | null = null;
  if (rolled.length) {
    const dNow = Prisma.sql`${utcDay(x.now)}::date`;
    // Per aggregate: the rollup rows it counts (wholly inside its window) ...
    const match = (a: EventAgg, t: string) => {
      const col = (c: string) => Prisma.raw(`${t}.${c}`);
      const l = lo(a);
      return [
        a.type === undefined ? null : Prisma.sql`${col('type')} = ${a.type}::"BehaviourEventType"`,
        a.sku === undefined ? null : Prisma.sql`${col('sku')} = ${a.sku}::text`,
        l && a.kind === 'count' ? Prisma.sql`${col('"firstAt"')} >= ${l}::timestamptz` : null,
        a.atLeast ? Prisma.sql`${col('"lastAt"')} >= ${a.atLeast}` : null,
        Prisma.sql`${col('"lastAt"')} <= ${now}`,
      ].filter((s): s is Prisma.Sql => s !== null);
    };
    const matchEvent = (a: EventAgg) => {
      const l = lo(a);
      return [
        a.type === undefined ? null : Prisma.sql`e.type = ${a.type}::"BehaviourEventType"`,
        a.sku === undefined ? null : Prisma.sql`e.sku = ${a.sku}::text`,
        l ? Prisma.sql`e."occurredAt" >= ${l}::timestamptz` : null,
        a.atLeast ? Prisma.sql`e."occurredAt" >= ${a.atLeast}` : null,
        Prisma.sql`e."occurredAt" <= ${now}`,
      ].filter((s): s is Prisma.Sql => s !== null);
    };
    // The index range of each aggregate (a type, or every type, and a range of days).
    const range = (a: EventAgg) => {
      const l = lo(a);
      return Prisma.join(
        [
          Prisma.sql`r.type = ANY(${a.type === undefined ? ALL_EVENT_TYPES : [a.type]}::"BehaviourEventType"[])`,
          a.sku === undefined ? null : Prisma.sql`r.sku = ${a.sku}::text`,
          l ? Prisma.sql`r.day >= ${utcDay(l)}::date` : null,
          a.atLeast ? Prisma.sql`r.day >= (${a.atLeast} AT TIME ZONE 'UTC')::date AND r."lastAt" >= ${a.atLeast}` : null,
        ].filter((s): s is Prisma.Sql => s !== null),
        ' AND ',
      );
    };
    // Rows across a window's edge (partly before its start, or partly after now).
    const across = (a: EventAgg) => {
      const l = lo(a);
      const inside =
        l && a.kind === 'count' ? Prisma.sql`r."firstAt" >= ${l}::timestamptz AND r."lastAt" <= ${now}` : Prisma.sql`r."lastAt" <= ${now}`;
      const outside =
        l && a.kind === 'count' ? Prisma.sql`r."firstAt" > ${now} OR r."lastAt" < ${l}::timestamptz` : Prisma.sql`r."firstAt" > ${now}`;
      return Prisma.sql`(${range(a)} AND NOT (${inside}) AND NOT (${outside}))`;
    };
    const edgeDays = [
      ...new Set([
        utcDay(x.now),
        ...rolled
          .map(lo)
          .filter((d): d is Date => d !== null)
          .map(utcDay),
      ]),
    ];
    const anyRange = orAll(rolled.map(range));
    const split = Prisma.sql`(r.day = ANY(${edgeDays}::date[]) AND ${orAll(rolled.map(across))})`;
    const rows = Prisma.sql`FROM "BehaviourDay" r WHERE r."shopId" = ${x.shop} AND r.day <= ${dNow} AND ${anyRange} ${only(Prisma.sql`r."customerId"`)} ${seen(Prisma.sql`r."customerId"`)}`;
    // Over a rollup row (`r`) or over one event as a row of one (`e`).
    const aggregates = (t: 'r' | 'e', n: string) =>
      rolled.map((a) => {
        const where = Prisma.join(t === 'r' ? match(a, 'r') : matchEvent(a), ' AND ');
        return a.kind === 'count'
          ? Prisma.sql`COALESCE(sum(${Prisma.raw(n)}) FILTER (WHERE ${where}), 0)::int AS ${Prisma.raw(a.column)}`
          : Prisma.sql`max(${Prisma.raw(t === 'r' ? 'r."lastAt"' : 'e."occurredAt"')}) FILTER (WHERE ${where}) AS ${Prisma.raw(a.column)}`;
      });
    // Two grouped passes (each grouped on a table column, so that the planner knows the number of
    // customers), full-joined: the rows wholly inside or outside every window, and the events of
    // the rows across an edge (in place of those rows; usually none). OFFSET 0 keeps the join a
    // subquery, so that a condition on its columns (strict there) lets the planner start from the
    // matching customers instead of joining every customer.
    const combined = rolled.map((a) => {
      const c = Prisma.raw(a.column);
      return a.kind === 'count'
        ? Prisma.sql`COALESCE(rs.${c}, 0) + COALESCE(es.${c}, 0) AS ${c}`
        : Prisma.sql`GREATEST(rs.${c}, es.${c}) AS ${c}`;
    });
    rollup = Prisma.sql`SELECT COALESCE(rs."customerId", es."customerId") AS "customerId", ${Prisma.join(combined, ', ')}
      FROM (SELECT r."customerId", ${Prisma.join(aggregates('r', 'r.events'), ', ')} ${rows} AND NOT ${split}
        GROUP BY r."customerId") rs
      FULL JOIN (SELECT r."customerId", ${Prisma.join(aggregates('e', '1'), ', ')}
        FROM "BehaviourDay" r JOIN "BehaviourEvent" e ON e."shopId" = r."shopId" AND e."customerId" = r."customerId"
          AND e."occurredAt" >= (r.day::timestamp AT TIME ZONE 'UTC') AND e."occurredAt" < ((r.day + 1)::timestamp AT TIME ZONE 'UTC')
          AND e.type = r.type AND COALESCE(e.sku, '') = r.sku
        WHERE r."shopId" = ${x.shop} AND r.day = ANY(${edgeDays}::date[]) AND ${split} ${only(Prisma.sql`r."customerId"`)}
          ${seen(Prisma.sql`r."customerId"`)}
        GROUP BY r."customerId") es ON es."customerId" = rs."customerId"
      OFFSET 0`;
  }

  let raw: Prisma.Sql | null = null;
  if (rawAggs.length) {
    const match = (a: EventAgg) => {
      const l = lo(a);
      const xs = [
        a.type === undefined ? null : Prisma.sql`e.type = ${a.type}::"BehaviourEventType"`,
        a.sku === undefined ? null : Prisma.sql`e.sku = ${a.sku}::text`,
        l ? Prisma.sql`e."occurredAt" >= ${l}::timestamptz` : null,
        a.atLeast ? Prisma.sql`e."occurredAt" >= ${a.atLeast}` : null,
      ].filter((s): s is Prisma.Sql => s !== null);
      return xs.length ? Prisma.join(xs, ' AND ') : Prisma.sql`true`;
    };
    const aggregates = rawAggs.map((a) => {
      const f = Prisma.sql`FILTER (WHERE ${match(a)})`;
      const col = Prisma.raw(a.column);
      return a.kind === 'count'
        ? Prisma.sql`(count(*) ${f})::int AS ${col}`
        : a.kind === 'last'
          ? Prisma.sql`max(e."occurredAt") ${f} AS ${col}`
          : Prisma.sql`(count(DISTINCT COALESCE(e."sessionId", e."visitorId")) ${f})::int AS ${col}`;
    });
    raw = Prisma.sql`SELECT e."customerId", ${Prisma.join(aggregates, ', ')} FROM "BehaviourEvent" e
      WHERE e."shopId" = ${x.shop} AND e."customerId" IS NOT NULL AND e."occurredAt" <= ${now}
        AND ${orAll(rawAggs.map((a) => Prisma.sql`(${match(a)})`))} ${only(Prisma.sql`e."customerId"`)}
      GROUP BY e."customerId"`;
  }
  return { rollup, raw };
}
const EVENT_ARGS: Record<string, ArgDef> = {
  type: { type: 'enum', values: Object.values(E.BehaviourEventType) },
  sku: { type: 'string' },
  within: { type: 'duration' },
};

const profile = (name: string, type: FieldType, description: string, values?: Record<string, string>, pgType?: string): FieldDef => ({
  name,
  type,
  description,
  values: values ? Object.values(values) : undefined,
  pgType,
  sql: col(name),
});

export const FIELDS: FieldDef[] = [
  // Profile
  profile('stage', 'enum', 'Lifecycle stage.', E.LifecycleStage, 'LifecycleStage'),
  profile('gender', 'enum', 'Gender.', E.Gender, 'Gender'),
  profile('maritalStatus', 'enum', 'Marital status.', E.MaritalStatus, 'MaritalStatus'),
  profile('incomeBand', 'enum', 'Income band.', E.IncomeBand, 'IncomeBand'),
  profile('priceSensitivity', 'enum', 'Price sensitivity.', E.PriceSensitivity, 'PriceSensitivity'),
  profile('preferredChannel', 'enum', 'Preferred contact channel.', E.ContactChannel, 'ContactChannel'),
  profile('contactTolerance', 'enum', 'Contact tolerance.', E.ContactTolerance, 'ContactTolerance'),
  profile('sourceChannel', 'enum', 'Acquisition channel.', E.SourceChannel, 'SourceChannel'),
  profile('sourceCampaign', 'string', 'Acquisition campaign.'),
  profile('sourceMedium', 'string', 'Acquisition medium.'),
  profile('occupation', 'string', 'Occupation.'),
  profile('industry', 'string', 'Industry.'),
  profile('jobTitle', 'string', 'Job title.'),
  profile('company', 'string', 'Company.'),
  profile('country', 'string', 'Country (ISO 3166-1 alpha-2).'),
  profile('region', 'string', 'Region.'),
  profile('city', 'string', 'City.'),
  profile('postalCode', 'string', 'Postal code.'),
  profile('dealLikelihood', 'number', 'Deal likelihood, 0-100.'),
  profile('birthDate', 'date', 'Birth date.'),
  profile('createdAt', 'date', 'When the customer was created.'),
  profile('expectedPurchaseAt', 'date', 'Expected purchase time.'),
  {
    name: 'age',
    type: 'number',
    description: 'Age in whole years, from the birth date (null without one).',
    sql: (x) => Prisma.sql`date_part('year', age(${x.now}::timestamptz::date, c."birthDate"))::int`,
  },
  {
    name: 'owner',
    type: 'id',
    description: 'The owning staff user (StaffUser id); `owner IS NULL` for unowned.',
    sql: col('ownerId'),
  },
  {
    name: 'tags',
    type: 'set',
    description: 'Tag names.',
    contains: (_x, v) =>
      Prisma.sql`EXISTS (SELECT 1 FROM "CustomerTag" ct JOIN "Tag" t ON t.id = ct."tagId" WHERE ct."customerId" = c.id AND t.name = ${v})`,
  },
  {
    name: 'productInterests',
    type: 'set',
    description: 'Product interests.',
    contains: (_x, v) => Prisma.sql`${v} = ANY(c."productInterests")`,
  },
  { name: 'hobbies', type: 'set', description: 'Hobbies.', contains: (_x, v) => Prisma.sql`${v} = ANY(c.hobbies)` },
  {
    name: 'focusFactors',
    type: 'set',
    description: 'What the customer focuses on when buying.',
    values: Object.values(E.FocusFactor),
    contains: (_x, v) => Prisma.sql`${v}::"FocusFactor" = ANY(c."focusFactors")`,
  },
  ...Object.values(E.ConsentChannel).map(
    (ch): FieldDef => ({
      name: `consent.${ch}`,
      type: 'boolean',
      description: `Consent granted for ${ch} (false when refused or never asked).`,
      sql: () =>
        Prisma.sql`EXISTS (SELECT 1 FROM "Consent" cs WHERE cs."customerId" = c.id AND cs.channel = ${ch}::"ConsentChannel" AND cs.granted)`,
    }),
  ),
  {
    name: 'attributes.',
    prefix: true,
    type: 'json',
    description:
      'A custom attribute, e.g. attributes.shoeSize >= 42, attributes.newsletter = true. Compared as a number, boolean or text after the literal.',
  },
  // Behaviour: orders counted by the one rule (placed, not cancelled/refunded/excluded, not
  // competitor purchases), amounts in the shop's base currency with partial refunds subtracted.
  {
    name: 'orders.count',
    type: 'number',
    description:
      'Number of orders that count (not cancelled, refunded, excluded or competitor purchases; optionally `within` a window, e.g. orders.count(within = 365d)).',
    args: WITHIN,
    join: orderStats,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.n, 0)`,
  },
  {
    name: 'orders.total',
    type: 'number',
    description: "Total spent in the shop's base currency (partial refunds subtracted).",
    args: WITHIN,
    join: orderStats,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.total, 0)`,
  },
  {
    name: 'orders.average',
    type: 'number',
    description: 'Average order value (null without orders).',
    args: WITHIN,
    join: orderStats,
    sql: (x) => Prisma.sql`(${x.alias}.total / NULLIF(${x.alias}.n, 0))`,
  },
  {
    name: 'orders.spanDays',
    type: 'number',
    description:
      'Whole days between the first and the latest order that counts (0 with fewer than two; `within` too): repeat purchases over time, e.g. orders.spanDays >= 180.',
    args: WITHIN,
    join: orderStats,
    sql: (x) => Prisma.sql`COALESCE(floor(extract(epoch FROM (${x.alias}.last - ${x.alias}.first)) / 86400), 0)::int`,
  },
  {
    name: 'positiveWordOfMouth.count',
    type: 'number',
    description:
      'Positive word of mouth: WORD_OF_MOUTH and REVIEW interactions with POSITIVE sentiment (negative ones never count), optionally `within` a window ending now, e.g. positiveWordOfMouth.count(within = 365d) >= 2.',
    args: WITHIN,
    join: (x) => {
      const window =
        typeof x.args.within === 'number'
          ? Prisma.sql`AND i."occurredAt" > ${new Date(x.now.getTime() - x.args.within)}::timestamptz AND i."occurredAt" <= ${x.now}::timestamptz`
          : Prisma.empty;
      return Prisma.sql`SELECT i."customerId", count(*)::int AS n FROM "Interaction" i
        WHERE i."shopId" = ${x.shop} AND i."deletedAt" IS NULL AND i.type IN ('WORD_OF_MOUTH', 'REVIEW') AND i.sentiment = 'POSITIVE'
        ${window} ${restrict(x, Prisma.sql`i."customerId"`)}
        GROUP BY i."customerId"`;
    },
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.n, 0)`,
  },
  {
    name: 'referrals.count',
    type: 'number',
    description: 'Customers this customer referred (their source names this customer as the referrer; merged duplicates excluded).',
    join: referralStats,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.n, 0)`,
  },
  {
    name: 'referredBuyers.count',
    type: 'number',
    description: 'Referred customers who bought (at least one order that counts each): the STRATEGIC fact, e.g. referredBuyers.count >= 2.',
    join: referralStats,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.bought, 0)`,
  },
  {
    name: 'competitorOrders.count',
    type: 'number',
    description: 'Share of wallet: number of purchases from competitors (channel OTHER_MERCHANT), optionally `within` a window.',
    args: WITHIN,
    join: competitorStats,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.n, 0)`,
  },
  {
    name: 'competitorOrders.total',
    type: 'number',
    description: "Share of wallet: spent with competitors, in the shop's base currency.",
    args: WITHIN,
    join: competitorStats,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.total, 0)`,
  },
  {
    name: 'lastOrderAt',
    type: 'date',
    description: 'When the last order was placed (null without orders).',
    join: orderStats,
    sql: (x) => Prisma.sql`${x.alias}.last`,
  },
  {
    name: 'firstOrderAt',
    type: 'date',
    description: 'When the first order was placed.',
    join: orderStats,
    sql: (x) => Prisma.sql`${x.alias}.first`,
  },
  {
    name: 'skus',
    type: 'set',
    description: "SKUs bought, e.g. skus CONTAINS 'SOFA-1'.",
    contains: (_x, v) => Prisma.sql`EXISTS (SELECT 1 FROM "Order" o JOIN "OrderItem" oi ON oi."orderId" = o.id
      WHERE o."customerId" = c.id AND ${BOUGHT} AND oi.sku = ${v})`,
  },
  {
    name: 'addOns.count',
    type: 'number',
    description: 'Number of optional add-on items bought.',
    args: WITHIN,
    join: (x) => Prisma.sql`SELECT o."customerId", sum(oi.quantity)::int AS n FROM "Order" o JOIN "OrderItem" oi ON oi."orderId" = o.id
      WHERE o."shopId" = ${x.shop} AND oi."addOn" AND ${BOUGHT} ${since(x, Prisma.sql`o."placedAt"`)} ${restrict(x, Prisma.sql`o."customerId"`)}
      GROUP BY o."customerId"`,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.n, 0)`,
  },
  {
    name: 'interactions.count',
    type: 'number',
    description:
      'Number of interactions, optionally of a type, channel, direction or sentiment and within a window: interactions.count(type = COMPLAINT, within = 90d) >= 1.',
    args: {
      type: { type: 'enum', values: Object.values(E.InteractionType) },
      channel: { type: 'enum', values: Object.values(E.InteractionChannel) },
      direction: { type: 'enum', values: Object.values(E.InteractionDirection) },
      sentiment: { type: 'enum', values: Object.values(E.Sentiment) },
      within: { type: 'duration' },
    },
    join: (x) => {
      const a = x.args;
      const eq = (column: string, type: string, v: string | number | undefined) =>
        v === undefined ? Prisma.empty : Prisma.sql`AND ${Prisma.raw(`i."${column}"`)} = ${String(v)}::${Prisma.raw(`"${type}"`)}`;
      return Prisma.sql`SELECT i."customerId", count(*)::int AS n FROM "Interaction" i
        WHERE i."shopId" = ${x.shop} AND i."deletedAt" IS NULL ${eq('type', 'InteractionType', a.type)}
        ${eq('channel', 'InteractionChannel', a.channel)} ${eq('direction', 'InteractionDirection', a.direction)}
        ${eq('sentiment', 'Sentiment', a.sentiment)} ${since(x, Prisma.sql`i."occurredAt"`)} ${restrict(x, Prisma.sql`i."customerId"`)}
        GROUP BY i."customerId"`;
    },
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.n, 0)`,
  },
  // Storefront behaviour (see eventJoins above).
  {
    name: 'events.count',
    type: 'number',
    description:
      "Number of storefront behaviour events, optionally of a type, for a SKU and within a window: events.count(type = PRODUCT_VIEWED, sku = 'SOFA-1', within = 30d) >= 2.",
    args: EVENT_ARGS,
    events: 'count',
    sql: (x) => Prisma.sql`COALESCE(${x.alias}, 0)`,
  },
  {
    name: 'events.lastSeen',
    type: 'date',
    description:
      'When the customer was last seen on the storefront (their latest behaviour event; optionally of a type / SKU): events.lastSeen < -30d. Null without events.',
    args: { type: EVENT_ARGS.type as ArgDef, sku: EVENT_ARGS.sku as ArgDef },
    events: 'last',
    sql: (x) => x.alias,
  },
  {
    name: 'events.sessions',
    type: 'number',
    description:
      'Number of storefront visits (distinct sessions; an event without a session counts as its own visit), optionally within a window.',
    args: WITHIN,
    events: 'sessions',
    sql: (x) => Prisma.sql`COALESCE(${x.alias}, 0)`,
  },
  {
    name: 'events.viewedNotBought',
    type: 'number',
    description:
      "Number of distinct SKUs the customer viewed (PRODUCT_VIEWED, optionally within a window or for one SKU) without a counted order containing that SKU placed at or after their first view of it in the window: events.viewedNotBought(within = 14d) >= 1, events.viewedNotBought(sku = 'SOFA-1', within = 14d) >= 1.",
    args: { sku: { type: 'string' }, within: { type: 'duration' } },
    join: (x) => Prisma.sql`SELECT v."customerId", count(*)::int AS n FROM (
        SELECT e."customerId", e.sku, min(e."occurredAt") AS first FROM "BehaviourEvent" e
        WHERE e."shopId" = ${x.shop} AND e.type = 'PRODUCT_VIEWED'::"BehaviourEventType" AND e."customerId" IS NOT NULL
          AND e.sku IS NOT NULL AND e."occurredAt" <= ${x.now}::timestamptz ${eventFilter(x)}
        GROUP BY e."customerId", e.sku) v
      WHERE NOT EXISTS (SELECT 1 FROM "Order" o JOIN "OrderItem" oi ON oi."orderId" = o.id AND oi."shopId" = o."shopId"
        WHERE o."shopId" = ${x.shop} AND o."customerId" = v."customerId" AND ${BOUGHT} AND o."placedAt" >= v.first AND oi.sku = v.sku)
      GROUP BY v."customerId"`,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}.n, 0)`,
  },
  // Loyalty (modules/loyalty: one CustomerMetrics row per customer, as of its last recompute;
  // customers without a row have never been computed: scores 0, churnRisk and rfm null).
  {
    name: 'loyalty.score',
    type: 'number',
    description: 'Loyalty score, 0-100 (weighted combination of the seven indicators).',
    join: loyaltyMetrics,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}."loyaltyScore", 0)`,
  },
  {
    name: 'churnRisk',
    type: 'enum',
    description: 'Churn early warning level (LOW, MEDIUM, HIGH).',
    values: Object.values(E.ChurnRisk),
    pgType: 'ChurnRisk',
    join: loyaltyMetrics,
    sql: (x) => Prisma.sql`${x.alias}."churnRisk"`,
  },
  {
    name: 'rfm',
    type: 'string',
    description: "RFM code, recency/frequency/monetary quintile scores, e.g. rfm IN ('555', '554'); null for customers who never bought.",
    join: loyaltyMetrics,
    sql: (x) => Prisma.sql`${x.alias}.rfm`,
  },
  ...(['recency', 'frequency', 'monetary'] as const).map(
    (k): FieldDef => ({
      name: `rfm.${k}`,
      type: 'number',
      description: `RFM ${k} score, 1-5 (quintile within the shop; 0 for customers who never bought).`,
      join: loyaltyMetrics,
      sql: (x) => Prisma.sql`COALESCE(${x.alias}.${Prisma.raw(`"${k}Score"`)}, 0)`,
    }),
  ),
  {
    name: 'satisfaction.csat',
    type: 'number',
    description: 'Latest CSAT answer, 1-5 (null: never answered; as of the last loyalty refresh).',
    join: loyaltyMetrics,
    sql: (x) => Prisma.sql`${x.alias}."csatLatest"`,
  },
  {
    name: 'satisfaction.nps',
    type: 'number',
    description: 'Latest NPS answer, 0-10 (null: never answered; as of the last loyalty refresh).',
    join: loyaltyMetrics,
    sql: (x) => Prisma.sql`${x.alias}."npsLatest"`,
  },
  {
    name: 'satisfaction.verySatisfied',
    type: 'boolean',
    description: 'The latest satisfaction answer is CSAT 5 or NPS 9-10.',
    join: loyaltyMetrics,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}."verySatisfied", false)`,
  },
  {
    name: 'lifetimeValue',
    type: 'number',
    description: 'Historic lifetime value (as of the last loyalty recompute).',
    join: loyaltyMetrics,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}."lifetimeValue", 0)`,
  },
  {
    name: 'predictedLifetimeValue',
    type: 'number',
    description: 'Predicted lifetime value (as of the last loyalty recompute).',
    join: loyaltyMetrics,
    sql: (x) => Prisma.sql`COALESCE(${x.alias}."predictedLifetimeValue", 0)`,
  },
  {
    name: 'lastInteractionAt',
    type: 'date',
    description: 'When the last interaction occurred.',
    join: (x) => Prisma.sql`SELECT i."customerId", max(i."occurredAt") AS last FROM "Interaction" i
      WHERE i."shopId" = ${x.shop} AND i."deletedAt" IS NULL ${restrict(x, Prisma.sql`i."customerId"`)} GROUP BY i."customerId"`,
    sql: (x) => Prisma.sql`${x.alias}.last`,
  },
];

const BY_NAME = new Map(FIELDS.filter((f) => !f.prefix).map((f) => [f.name, f]));
const PREFIXED = FIELDS.filter((f) => f.prefix);

/** Attribute keys: identifiers only (they are bound as parameters anyway). */
export const ATTRIBUTE_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The definition of a field name and, for prefixed fields, its key; null when unknown. */
export function lookupField(name: string): { def: FieldDef; key: string | null } | null {
  const def = BY_NAME.get(name);
  if (def) return { def, key: null };
  for (const p of PREFIXED) {
    if (name.startsWith(p.name)) {
      const key = name.slice(p.name.length);
      return ATTRIBUTE_KEY.test(key) ? { def: p, key } : null;
    }
  }
  return null;
}

export const operatorsOf = (def: FieldDef): readonly Op[] => def.ops ?? OPERATORS_BY_TYPE[def.type];
