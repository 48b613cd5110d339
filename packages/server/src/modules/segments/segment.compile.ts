import type { TenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { isUuid } from '../customers/customer.service.ts';
import { type EventAgg, eventJoins, type FieldDef, lookupField, type SqlCtx } from './segment.fields.ts';
import { type Condition, durationMs, printValue, type Rule, relativeDate, staffRowId, type Value } from './segment.rule.ts';

/**
 * Compiles a validated rule to ONE parameterised SQL statement over `"Customer" c`: per-customer
 * aggregates (orders, interactions) become LEFT JOINs of grouped subqueries (one per distinct
 * field + arguments), everything else a predicate. Values are bound parameters; identifiers come
 * from the field registry. Only ACTIVE customers are ever members (archived, merged and erased
 * ones never are). `!=` and `NOT IN` are null-safe (a customer without a value is "not equal"),
 * and NOT negates "matches" (a NULL comparison counts as not matching). Storefront behaviour
 * fields (events.*) are columns of one or two shared grouped joins (segment.fields.ts eventJoins).
 */
export type Compiled = { joins: Prisma.Sql; where: Prisma.Sql };

export type CompileOptions = {
  shop: Prisma.Sql;
  now: Date;
  onlyCustomers?: string[] | null;
  /**
   * Where events.count / events.lastSeen read: the daily rollup (default) or the events
   * themselves (the reference the rollup is tested against; same results).
   */
  events?: 'rollup' | 'raw';
};

export function compileRule(rule: Rule, opts: CompileOptions): Compiled {
  const joins: Prisma.Sql[] = [];
  const aliases = new Map<string, Prisma.Sql>();
  const joinIds = new Map<unknown, number>();
  const eventAggs = new Map<string, EventAgg>();
  const ctxFor = (c: Condition, def: FieldDef, key: string | null): SqlCtx => {
    const args: Record<string, string | number> = {};
    for (const a of c.args)
      args[a.name] = a.value.t === 'rel' ? durationMs(a.value) : a.value.t === 'ident' || a.value.t === 'str' ? a.value.v : 0;
    const x: SqlCtx = { shop: opts.shop, now: opts.now, alias: Prisma.empty, args, onlyCustomers: opts.onlyCustomers ?? null, key };
    if (def.events) {
      const low = lastSeenLowerBound(c, def);
      const aggKey = `${def.events}|${c.args.map((a) => `${a.name}=${printValue(a.value)}`).join(',')}|${low ? printValue(low) : ''}`;
      let agg = eventAggs.get(aggKey);
      if (!agg) {
        const kind = def.events;
        agg = {
          kind,
          column: `a${eventAggs.size}`,
          ...(args.type === undefined ? {} : { type: String(args.type) }),
          ...(args.sku === undefined ? {} : { sku: String(args.sku) }),
          ...(typeof args.within === 'number' ? { within: args.within } : {}),
          ...(low ? { atLeast: bindValue(def, low, opts.now) } : {}),
        };
        eventAggs.set(aggKey, agg);
      }
      const rolled = agg.kind !== 'sessions' && opts.events !== 'raw';
      x.alias = Prisma.raw(`${rolled ? 'evr' : 'evx'}.${agg.column}`);
    } else if (def.join) {
      if (!joinIds.has(def.join)) joinIds.set(def.join, joinIds.size);
      const joinKey = `${joinIds.get(def.join)}|${c.args.map((a) => `${a.name}=${printValue(a.value)}`).join(',')}`;
      let alias = aliases.get(joinKey);
      if (!alias) {
        alias = Prisma.raw(`j${aliases.size}`);
        aliases.set(joinKey, alias);
        joins.push(Prisma.sql`LEFT JOIN (${def.join({ ...x, alias })}) ${alias} ON ${alias}."customerId" = c.id`);
      }
      x.alias = alias;
    }
    return x;
  };
  const where = (r: Rule): Prisma.Sql => {
    switch (r.kind) {
      case 'and':
        return Prisma.sql`(${Prisma.join(r.items.map(where), ' AND ')})`;
      case 'or':
        return Prisma.sql`(${Prisma.join(r.items.map(where), ' OR ')})`;
      case 'not':
        return Prisma.sql`(NOT COALESCE(${where(r.item)}, false))`;
      case 'cond':
        return condition(r);
    }
  };
  const condition = (c: Condition): Prisma.Sql => {
    const found = lookupField(c.field);
    if (!found) throw ValidationError.field(['rule'], `Unknown field "${c.field}"`, 'unknown_field');
    const { def, key } = found;
    const x = ctxFor(c, def, key);
    if (def.type === 'set') {
      const contains = def.contains as NonNullable<FieldDef['contains']>;
      return contains(x, Prisma.sql`${(c.values[0] as { v: string }).v}`);
    }
    if (def.type === 'json') return jsonCondition(key as string, c);
    const expr = (def.sql as NonNullable<FieldDef['sql']>)(x);
    const bind = (v: Value): Prisma.Sql => bindValue(def, v, opts.now);
    const vs = c.values;
    switch (c.op) {
      case 'IS NULL':
        return Prisma.sql`(${expr} IS NULL)`;
      case 'IS NOT NULL':
        return Prisma.sql`(${expr} IS NOT NULL)`;
      case '=':
        return Prisma.sql`(${expr} = ${bind(vs[0] as Value)})`;
      case '!=':
        return Prisma.sql`(${expr} IS DISTINCT FROM ${bind(vs[0] as Value)})`;
      case 'IN':
        return Prisma.sql`(${expr} IN (${Prisma.join(vs.map(bind))}))`;
      case 'NOT IN':
        return Prisma.sql`(NOT COALESCE(${expr} IN (${Prisma.join(vs.map(bind))}), false))`;
      case 'BETWEEN':
        return Prisma.sql`(${expr} BETWEEN ${bind(vs[0] as Value)} AND ${bind(vs[1] as Value)})`;
      case 'CONTAINS':
        return Prisma.sql`(strpos(lower(${expr}), lower(${(vs[0] as { v: string }).v}::text)) > 0)`;
      default:
        return Prisma.sql`(${expr} ${Prisma.raw(c.op)} ${bind(vs[0] as Value)})`;
    }
  };
  const w = where(rule);
  if (eventAggs.size) {
    const ev = eventJoins(
      [...eventAggs.values()],
      { shop: opts.shop, now: opts.now, onlyCustomers: opts.onlyCustomers ?? null, seenSince: seenSince(rule, opts.now) },
      opts.events ?? 'rollup',
    );
    if (ev.rollup) joins.push(Prisma.sql`LEFT JOIN (${ev.rollup}) evr ON evr."customerId" = c.id`);
    if (ev.raw) joins.push(Prisma.sql`LEFT JOIN (${ev.raw}) evx ON evx."customerId" = c.id`);
  }
  return { joins: joins.length ? Prisma.join(joins, '\n') : Prisma.empty, where: w };
}

/**
 * The lower bound of an `events.lastSeen >`, `>=` or `BETWEEN` condition the whole rule requires
 * (the rule itself, or a term of its top-level AND chain; never under OR or NOT): a member must have
 * an event after it. Any such term will do; the first is taken.
 */
function seenSince(rule: Rule, now: Date): Prisma.Sql | null {
  if (rule.kind === 'and') {
    for (const item of rule.items) {
      const s = seenSince(item, now);
      if (s) return s;
    }
    return null;
  }
  if (rule.kind !== 'cond') return null;
  const found = lookupField(rule.field);
  const low = found ? lastSeenLowerBound(rule, found.def) : null;
  return found && low ? bindValue(found.def, low, now) : null;
}

/** `events.lastSeen >`, `>=` or `BETWEEN`: only events from this lower bound on can decide it. */
function lastSeenLowerBound(c: Condition, def: FieldDef): Value | null {
  return def.events === 'last' && (c.op === '>' || c.op === '>=' || c.op === 'BETWEEN') ? (c.values[0] as Value) : null;
}

/** A literal as a typed bound parameter. */
function bindValue(def: FieldDef, v: Value, now: Date): Prisma.Sql {
  switch (def.type) {
    case 'enum':
      return def.pgType
        ? Prisma.sql`${(v as { v: string }).v}::${Prisma.raw(`"${def.pgType}"`)}`
        : Prisma.sql`${(v as { v: string }).v}::text`;
    case 'number':
      return Prisma.sql`${(v as { v: string }).v}::numeric`;
    case 'date':
      return v.t === 'rel' ? Prisma.sql`${relativeDate(v, now)}::timestamptz` : Prisma.sql`${(v as { v: string }).v}::timestamptz`;
    case 'boolean':
      return Prisma.sql`${(v as { v: boolean }).v}`;
    case 'id':
      return Prisma.sql`${staffRowId((v as { v: string }).v)}::uuid`;
    default:
      return Prisma.sql`${(v as { v: string }).v}::text`;
  }
}

/** attributes.<key>: the key is a validated identifier AND a bound parameter. */
function jsonCondition(key: string, c: Condition): Prisma.Sql {
  const node = Prisma.sql`(c.attributes -> ${key}::text)`;
  const text = Prisma.sql`(c.attributes ->> ${key}::text)`;
  const num = Prisma.sql`(CASE WHEN jsonb_typeof(${node}) = 'number' THEN (${text})::numeric END)`;
  const jsonOf = (v: Value) =>
    v.t === 'num'
      ? Prisma.sql`to_jsonb(${v.v}::numeric)`
      : v.t === 'bool'
        ? Prisma.sql`to_jsonb(${v.v}::boolean)`
        : Prisma.sql`to_jsonb(${(v as { v: string }).v}::text)`;
  const vs = c.values;
  switch (c.op) {
    case 'IS NULL':
      return Prisma.sql`(${node} IS NULL OR ${node} = 'null'::jsonb)`;
    case 'IS NOT NULL':
      return Prisma.sql`(${node} IS NOT NULL AND ${node} <> 'null'::jsonb)`;
    case '=':
      return Prisma.sql`(${node} = ${jsonOf(vs[0] as Value)})`;
    case '!=':
      return Prisma.sql`(${node} IS DISTINCT FROM ${jsonOf(vs[0] as Value)})`;
    case 'IN':
      return Prisma.sql`(${node} IN (${Prisma.join(vs.map(jsonOf))}))`;
    case 'NOT IN':
      return Prisma.sql`(NOT COALESCE(${node} IN (${Prisma.join(vs.map(jsonOf))}), false))`;
    case 'BETWEEN':
      return Prisma.sql`(${num} BETWEEN ${(vs[0] as { v: string }).v}::numeric AND ${(vs[1] as { v: string }).v}::numeric)`;
    case 'CONTAINS': {
      const v = vs[0] as Value;
      return Prisma.sql`(CASE jsonb_typeof(${node}) WHEN 'array' THEN ${node} @> jsonb_build_array(${jsonOf(v)})
        WHEN 'string' THEN strpos(lower(${text}), lower(${String((v as { v: string }).v)}::text)) > 0 ELSE false END)`;
    }
    default:
      return Prisma.sql`(${num} ${Prisma.raw(c.op)} ${(vs[0] as { v: string }).v}::numeric)`;
  }
}

const base = (shop: Prisma.Sql, c: Compiled) =>
  Prisma.sql`FROM "Customer" c ${c.joins} WHERE c."shopId" = ${shop} AND c.status = 'ACTIVE'::"CustomerStatus" AND ${c.where}`;

/** Number of customers matching. */
export async function countMatching(sql: TenantSql, rule: Rule, now: Date, events?: CompileOptions['events']): Promise<number> {
  const rows = await sql<{ n: number }>((shop) => {
    const c = compileRule(rule, { shop, now, events });
    return Prisma.sql`SELECT ${shop} AS "shopId", count(*)::int AS n ${base(shop, c)}`;
  });
  return rows[0]?.n ?? 0;
}

export type MemberKey = { id: string; createdAt: Date };
export const encodeMemberCursor = (k: MemberKey) => Buffer.from(JSON.stringify([k.createdAt.toISOString(), k.id])).toString('base64url');
export function decodeMemberCursor(cursor: string, path: string[] = ['after']): MemberKey {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (Number.isNaN(createdAt.getTime()) || typeof id !== 'string' || !isUuid(id)) throw new Error();
    return { id, createdAt };
  } catch {
    throw ValidationError.field(path, 'Invalid cursor');
  }
}

/** One page of matching customers, newest first (createdAt DESC, id DESC), keyset after `after`. */
export async function pageMatching(
  sql: TenantSql,
  rule: Rule,
  now: Date,
  opts: { first: number; after?: MemberKey | null; events?: CompileOptions['events'] },
): Promise<{ keys: MemberKey[]; hasNextPage: boolean }> {
  const a = opts.after;
  const rows = await sql<MemberKey>((shop) => {
    const c = compileRule(rule, { shop, now, events: opts.events });
    const after = a ? Prisma.sql`AND (c."createdAt", c.id) < (${a.createdAt}::timestamptz, ${a.id}::uuid)` : Prisma.empty;
    return Prisma.sql`SELECT c.id, c."createdAt", c."shopId" ${base(shop, c)} ${after}
      ORDER BY c."createdAt" DESC, c.id DESC LIMIT ${opts.first + 1}`;
  });
  rows.sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
  return { keys: rows.slice(0, opts.first).map((r) => ({ id: r.id, createdAt: r.createdAt })), hasNextPage: rows.length > opts.first };
}

/** The membership diff of a saved segment: who matches and is not a member, who is a member and no longer matches. */
export function diffSql(rule: Rule, now: Date, segmentId: string, onlyCustomers: string[] | null) {
  return (shop: Prisma.Sql) => {
    const c = compileRule(rule, { shop, now, onlyCustomers });
    const only = onlyCustomers ? Prisma.sql`AND c.id = ANY(${onlyCustomers}::uuid[])` : Prisma.empty;
    const onlyM = onlyCustomers ? Prisma.sql`AND m."customerId" = ANY(${onlyCustomers}::uuid[])` : Prisma.empty;
    return Prisma.sql`WITH cur AS MATERIALIZED (SELECT c.id ${base(shop, c)} ${only})
      SELECT cur.id AS "customerId", true AS entered, ${shop} AS "shopId" FROM cur
        WHERE NOT EXISTS (SELECT 1 FROM "SegmentMember" m WHERE m."segmentId" = ${segmentId}::uuid AND m."customerId" = cur.id)
      UNION ALL
      SELECT m."customerId", false, m."shopId" FROM "SegmentMember" m
        WHERE m."segmentId" = ${segmentId}::uuid AND m."shopId" = ${shop} ${onlyM}
          AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.id = m."customerId")`;
  };
}
