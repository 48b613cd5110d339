import { type FieldNode, type GraphQLObjectType, getNamedType, isObjectType, isUnionType } from 'graphql';
import { bail, type Compiler, col, type FieldInput, registerFieldCompiler, sqlDateTime } from '../../compiled/compiler.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import {
  branch,
  decodeTimelineCursor,
  TIMELINE_KINDS,
  TIMELINE_MODELS,
  type TimelineEntry,
  type TimelineKind,
} from './timeline.service.ts';

/**
 * `Customer.timeline` on the compiled path (compiled/compiler.ts): the page statement of
 * timeline.service.ts (one UNION ALL, keyset after the cursor) with each entry's node built as JSON
 * from its own table in the same statement. Mirrors timeline.type.ts; storefront visits compile
 * only when the selection asks nothing of them but `__typename` (their aggregates stay with the
 * executor). tests/compiled-reads.test.ts holds both paths to the same answers.
 */

const KIND_OF_NAME: Record<string, TimelineKind> = {
  INTERACTION: 'interaction',
  ORDER: 'order',
  STAGE_CHANGE: 'stage',
  CONSENT_CHANGE: 'consent',
  VISIT: 'visit',
};
const TYPE_OF_KIND: Record<TimelineKind, string> = {
  interaction: 'Interaction',
  order: 'Order',
  stage: 'StageTransition',
  consent: 'ConsentChange',
  visit: 'StorefrontVisit',
};

const field = (t: GraphQLObjectType, name: string) => t.getFields()[name] ?? bail(`${t.name}.${name}`);
const key = (k: string) => Prisma.raw(`'${k}'`);

/** The entry's node: its row of its table as JSON, by kind. */
function nodeSql(c: Compiler, edge: GraphQLObjectType, nodes: readonly FieldNode[], kinds: readonly TimelineKind[], p: string) {
  const union = getNamedType(field(edge, 'node').type);
  if (!isUnionType(union)) return bail('timeline node');
  const cases: Prisma.Sql[] = [];
  for (const kind of kinds) {
    const member = c.schema.getType(TYPE_OF_KIND[kind]);
    if (!isObjectType(member) || !union.getTypes().includes(member)) return bail(`timeline ${kind}`);
    const fields = c.subfields(member, nodes);
    let obj: Prisma.Sql;
    if (fields.size === 0) obj = Prisma.sql`'{}'::json`;
    else if (kind === 'visit') {
      for (const [, n] of fields) if (n[0]?.name.value !== '__typename') bail('timeline visit fields');
      obj = Prisma.sql`json_build_object(${Prisma.join(
        [...fields.keys()].map((k) => Prisma.sql`${key(k)}, 'StorefrontVisit'::text`),
        ', ',
      )})`;
    } else {
      const model = TIMELINE_MODELS[kind];
      const x = c.alias();
      obj = Prisma.sql`(SELECT ${c.objectJson(member, model, x, nodes)} FROM ${Prisma.raw(`"${model}"`)} ${Prisma.raw(x)} WHERE ${col(x, 'id')} = ${col(p, 'id')} AND ${col(x, 'shopId')} = ${col(p, 'shopId')})`;
    }
    cases.push(Prisma.sql`WHEN ${kind} THEN ${obj}`);
  }
  return Prisma.sql`CASE ${col(p, 'kind')} ${Prisma.join(cases, ' ')} END`;
}

/** The entry's cursor as encodeTimelineCursor writes it: base64url of ["<at ISO>","<kind>","<id>"]. */
const cursorSql = (p: string) =>
  Prisma.sql`translate(encode(convert_to('["' || ${sqlDateTime(col(p, 'at'))} || '","' || ${col(p, 'kind')} || '","' || ${col(p, 'id')}::text || '"]', 'UTF8'), 'base64'), ${'+/=\n'}, '-_')`;

const KIND_NAME_SQL = (p: string) =>
  Prisma.sql`CASE ${col(p, 'kind')} WHEN 'interaction' THEN 'INTERACTION' WHEN 'order' THEN 'ORDER' WHEN 'stage' THEN 'STAGE_CHANGE' WHEN 'consent' THEN 'CONSENT_CHANGE' WHEN 'visit' THEN 'VISIT' END`;

registerFieldCompiler('Customer.timeline', (c: Compiler, f: FieldInput) => {
  const node = f.nodes[0] ?? bail('timeline');
  const args = c.args(f.field, node) as {
    first?: number | null;
    after?: string | null;
    last?: unknown;
    before?: unknown;
    kinds?: string[] | null;
  };
  if (args.last != null || args.before != null) bail('timeline: backwards');
  const first = args.first ?? 20;
  if (!Number.isInteger(first) || first < 0 || first > 100) bail('timeline: first');
  let cursor: TimelineEntry | null = null;
  if (args.after) {
    try {
      cursor = decodeTimelineCursor(args.after);
    } catch {
      bail('timeline: cursor');
    }
  }
  const kinds = args.kinds?.length ? [...new Set(args.kinds.map((k) => KIND_OF_NAME[k] ?? bail('kind')))] : [...TIMELINE_KINDS];
  const conn = getNamedType(f.field.type);
  if (!isObjectType(conn)) return bail('timeline type');
  const p = c.alias();
  const shop = col(f.alias, 'shopId');
  const page =
    first === 0
      ? Prisma.sql`SELECT NULL::text AS kind, NULL::uuid AS id, NULL::timestamptz AS at, NULL::uuid AS "shopId", 0::bigint AS rn WHERE false`
      : Prisma.sql`SELECT t.*, row_number() OVER (ORDER BY t.at DESC, t.kind ASC, t.id DESC) AS rn FROM (${Prisma.join(
          kinds.map((k) => branch(k, shop, col(f.alias, 'id'), cursor, first + 1)),
          ' UNION ALL ',
        )}) t ORDER BY t.at DESC, t.kind ASC, t.id DESC LIMIT ${first + 1}`;
  const parts: Prisma.Sql[] = [];
  for (const [k, n] of c.subfields(conn, f.nodes)) {
    const name = n[0]?.name.value as string;
    if (name === '__typename') {
      parts.push(Prisma.sql`${key(k)}, ${conn.name}::text`);
      continue;
    }
    const sub = field(conn, name);
    c.authorize(conn, sub);
    if (name === 'edges') {
      const edge = getNamedType(sub.type) as GraphQLObjectType;
      const ps: Prisma.Sql[] = [];
      for (const [ek, en] of c.subfields(edge, n)) {
        const ename = en[0]?.name.value as string;
        if (ename !== '__typename') c.authorize(edge, field(edge, ename));
        if (ename === '__typename') ps.push(Prisma.sql`${key(ek)}, ${edge.name}::text`);
        else if (ename === 'cursor') ps.push(Prisma.sql`${key(ek)}, ${cursorSql(p)}`);
        else if (ename === 'at') ps.push(Prisma.sql`${key(ek)}, ${sqlDateTime(col(p, 'at'))}`);
        else if (ename === 'kind') ps.push(Prisma.sql`${key(ek)}, ${KIND_NAME_SQL(p)}`);
        else if (ename === 'node') ps.push(Prisma.sql`${key(ek)}, ${nodeSql(c, edge, en, kinds, p)}`);
        else bail(`${edge.name}.${ename}`);
      }
      if (!ps.length) bail('empty edge');
      parts.push(
        Prisma.sql`${key(k)}, COALESCE((SELECT json_agg(json_build_object(${Prisma.join(ps, ', ')}) ORDER BY ${Prisma.raw(p)}.rn) FROM timeline_page ${Prisma.raw(p)} WHERE ${Prisma.raw(p)}.rn <= ${first}), '[]'::json)`,
      );
    } else if (name === 'pageInfo') {
      const info = getNamedType(sub.type) as GraphQLObjectType;
      const ps: Prisma.Sql[] = [];
      for (const [ik, inodes] of c.subfields(info, n)) {
        const iname = inodes[0]?.name.value as string;
        if (iname !== '__typename') c.authorize(info, field(info, iname));
        if (iname === '__typename') ps.push(Prisma.sql`${key(ik)}, ${info.name}::text`);
        else if (iname === 'hasNextPage') ps.push(Prisma.sql`${key(ik)}, (SELECT count(*) > ${first} FROM timeline_page)`);
        else if (iname === 'hasPreviousPage') ps.push(Prisma.sql`${key(ik)}, ${args.after ? Prisma.sql`true` : Prisma.sql`false`}`);
        else if (iname === 'startCursor' || iname === 'endCursor') {
          const pick = iname === 'startCursor' ? Prisma.sql`1` : Prisma.sql`LEAST((SELECT count(*) FROM timeline_page), ${first})`;
          ps.push(
            Prisma.sql`${key(ik)}, (SELECT ${cursorSql(p)} FROM timeline_page ${Prisma.raw(p)} WHERE ${Prisma.raw(p)}.rn = ${pick} AND ${Prisma.raw(p)}.rn <= ${first})`,
          );
        } else bail(`PageInfo.${iname}`);
      }
      parts.push(Prisma.sql`${key(k)}, json_build_object(${Prisma.join(ps, ', ')})`);
    } else bail(`${conn.name}.${name}`);
  }
  if (!parts.length) bail('empty timeline');
  return Prisma.sql`(WITH timeline_page AS (${page}) SELECT json_build_object(${Prisma.join(parts, ', ')}))`;
});
