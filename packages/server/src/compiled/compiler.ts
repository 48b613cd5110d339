import {
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields.js';
import { getArgumentValues } from 'graphql/execution/values.js';
import type { Context } from '../context.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { allows, type Caller, type ScopeDeclaration } from '../modules/auth/auth.policy.ts';

/**
 * The compiled read path's core (docs/performance.md "Compiled reads"): turns the selection of a
 * read query into ONE SQL statement that builds the answer's JSON in PostgreSQL, the way a
 * GraphQL-to-SQL compiler (PostGraphile) does, so hot lists skip Prisma's result mapping and the
 * per-row, per-field resolver work. Hand-written because it is specific to this schema's
 * conventions (Pothos' exposed fields and relations over the Prisma models, tenant-scoped tables,
 * scope declarations on fields).
 *
 * It is an optimisation with an exact fallback: anything it does not know (a field without a
 * compiler, arguments it does not model, a directive, a declaration it cannot evaluate up front, a
 * scope the caller lacks) throws `NotCompiled`, and the query runs through the ordinary executor,
 * which answers exactly as before (errors included). tests/compiled-reads.test.ts runs every
 * field of the compiled types both ways and requires byte-identical answers.
 */
export class NotCompiled extends Error {}
export const bail = (why: string): never => {
  throw new NotCompiled(why);
};

type DmmfField = {
  name: string;
  kind: 'scalar' | 'enum' | 'object';
  type: string;
  isList: boolean;
  relationName?: string;
  relationFromFields?: string[];
};
type DmmfModel = { fields: DmmfField[] };
const MODELS = (getDatamodel() as unknown as { datamodel: { models: Record<string, DmmfModel> } }).datamodel.models;

export function modelField(model: string, name: string): DmmfField {
  const f = MODELS[model]?.fields.find((x) => x.name === name);
  return f ?? bail(`${model}.${name}: not in the data model`);
}
const isIdColumn = (model: string) => (MODELS[model]?.fields.find((f) => f.name === 'id') as { isId?: boolean } | undefined)?.isId === true;
const hasShopId = (model: string) => MODELS[model]?.fields.some((f) => f.name === 'shopId') ?? false;

/** A quoted column of a table alias (identifiers come from the data model, never from a request). */
export const col = (alias: string, column: string) => Prisma.raw(`${alias}."${column}"`);
export const table = (model: string) => Prisma.raw(`"${model}"`);

/** Serialisations in SQL that equal the scalars' `serialize` (common.type.ts). */
export const sqlDateTime = (e: Prisma.Sql) => Prisma.sql`to_char(${e} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const sqlDate = (e: Prisma.Sql) => Prisma.sql`to_char(${e}, 'YYYY-MM-DD')`;
const sqlDecimal = (e: Prisma.Sql) => Prisma.sql`(round(${e}, 2))::text`;
/** A Relay global id, as Pothos encodes it: base64("<Type>:<id>"). */
export const sqlGlobalId = (typeName: string, e: Prisma.Sql) =>
  Prisma.sql`translate(encode(convert_to(${`${typeName}:`}::text || ${e}::text, 'UTF8'), 'base64'), E'\\n', '')`;

export type FieldInput = {
  /** The type the field is on, and the model and table alias its row comes from. */
  type: GraphQLObjectType;
  model: string;
  alias: string;
  field: GraphQLField<unknown, unknown>;
  nodes: readonly FieldNode[];
};
/** Compiles one field to an SQL expression yielding its JSON value (or bails). */
export type FieldCompiler = (c: Compiler, f: FieldInput) => Prisma.Sql;
/** Answers one root field: its JSON value (or bails before sending anything). */
export type RootCompiler = (c: Compiler, field: GraphQLField<unknown, unknown>, nodes: readonly FieldNode[]) => Promise<unknown>;

const fieldCompilers = new Map<string, FieldCompiler>();
const rootCompilers = new Map<string, RootCompiler>();
/** A field whose value is not an exposed column or a plain relation: `Type.field`. */
export const registerFieldCompiler = (key: string, fn: FieldCompiler) => fieldCompilers.set(key, fn);
/** A Query field the compiled path can answer. */
export const registerRootCompiler = (name: string, fn: RootCompiler) => rootCompilers.set(name, fn);
export const rootCompilerOf = (name: string) => rootCompilers.get(name);

type PothosExtensions = {
  pothosOptions?: {
    authScopes?: unknown;
    skipTypeScopes?: boolean;
  };
  pothosExposedField?: string;
  /** The relation's data-model field. */
  pothosPrismaRelationField?: { name: string };
  pothosPrismaModel?: string;
};
const ext = (x: { extensions?: unknown }) => (x.extensions ?? {}) as PothosExtensions;

const ALLOWED_SCOPE_KEYS = new Set(['public', 'shop', 'publishable', 'customer', 'secret', 'scope', 'role', 'staff', '$any', '$all']);
function evaluable(decl: unknown): decl is ScopeDeclaration {
  if (decl == null) return true;
  if (typeof decl !== 'object') return false;
  return Object.entries(decl).every(([k, v]) => ALLOWED_SCOPE_KEYS.has(k) && (k.startsWith('$') ? evaluable(v) : true));
}

/** One compilation: the operation's fragments, coerced variables and the caller. */
export class Compiler {
  private readonly caller: Caller;
  private aliases = 0;
  constructor(
    readonly schema: GraphQLSchema,
    readonly fragments: Record<string, FragmentDefinitionNode>,
    readonly variables: Record<string, unknown>,
    readonly ctx: Context,
  ) {
    const v = ctx.viewer;
    this.caller =
      v.kind === 'secret'
        ? { kind: 'secret', scopes: v.scopes, staff: v.staff }
        : v.kind === 'publishable'
          ? { kind: 'publishable', customerId: v.customerId }
          : { kind: 'anonymous' };
  }

  /**
   * A fresh table alias, numbered per compilation: the same query shape gives the same statement
   * text on every request, so PostgreSQL can keep its plan (a named statement, db/database.ts).
   */
  alias(): string {
    this.aliases++;
    return `t${this.aliases}`;
  }

  /** The field's and its type's scope declarations must hold for the caller (else: the executor answers with its error). */
  authorize(type: GraphQLObjectType, field: GraphQLField<unknown, unknown>) {
    const fo = ext(field).pothosOptions;
    const decls = [fo?.authScopes, fo?.skipTypeScopes ? undefined : ext(type).pothosOptions?.authScopes];
    for (const d of decls) {
      if (d == null) continue;
      if (!evaluable(d)) bail(`${type.name}.${field.name}: scopes not evaluable up front`);
      if (!allows(d as ScopeDeclaration, this.caller)) bail(`${type.name}.${field.name}: not allowed`);
    }
  }

  rootFields(op: OperationDefinitionNode, type: GraphQLObjectType) {
    return collectFields(this.schema, this.fragments, this.variables, type, op.selectionSet);
  }

  subfields(type: GraphQLObjectType, nodes: readonly FieldNode[]): Map<string, readonly FieldNode[]> {
    return collectSubfields(this.schema, this.fragments, this.variables, type, nodes);
  }

  /** The field's arguments, coerced as the executor would (a bad one: the executor reports it). */
  args(field: GraphQLField<unknown, unknown>, node: FieldNode): Record<string, unknown> {
    try {
      return getArgumentValues(field, node, this.variables);
    } catch {
      return bail(`${field.name}: arguments`);
    }
  }

  /** `json_build_object` of the selection on `type`, read from the row `alias` of `model`. */
  objectJson(type: GraphQLObjectType, model: string, alias: string, nodes: readonly FieldNode[]): Prisma.Sql {
    const parts: Prisma.Sql[] = [];
    for (const [key, fieldNodes] of this.subfields(type, nodes)) {
      parts.push(Prisma.sql`${Prisma.raw(`'${key}'`)}, ${this.fieldSql(type, model, alias, fieldNodes)}`);
    }
    // json_build_object takes at most 100 arguments.
    if (parts.length === 0 || parts.length > 50) bail(`${type.name}: ${parts.length} fields`);
    return Prisma.sql`json_build_object(${Prisma.join(parts, ', ')})`;
  }

  fieldSql(type: GraphQLObjectType, model: string, alias: string, nodes: readonly FieldNode[]): Prisma.Sql {
    const first = nodes[0] ?? bail('no field');
    const name = first.name.value;
    if (name === '__typename') return Prisma.sql`${type.name}::text`;
    const field = type.getFields()[name] ?? bail(`${type.name}.${name}: unknown`);
    this.authorize(type, field);
    const custom = fieldCompilers.get(`${type.name}.${name}`);
    if (custom) return custom(this, { type, model, alias, field, nodes });
    if (field.args.length > 0) bail(`${type.name}.${name}: arguments`);
    const e = ext(field);
    if (e.pothosExposedField) return this.columnSql(model, alias, e.pothosExposedField, field.type);
    if (e.pothosPrismaRelationField) return this.relationSql(type, model, alias, field, e.pothosPrismaRelationField.name, nodes);
    // A prismaNode's `id` (every one here declares `id: { field: 'id' }`): the global id of the row's primary key.
    if (
      name === 'id' &&
      type.getInterfaces().some((i) => i.name === 'Node') &&
      ext(type).pothosPrismaModel === model &&
      isIdColumn(model)
    ) {
      return sqlGlobalId(type.name, col(alias, 'id'));
    }
    return bail(`${type.name}.${name}: no compiler`);
  }

  columnSql(model: string, alias: string, column: string, gqlType: GraphQLOutputType): Prisma.Sql {
    const f = modelField(model, column);
    if (f.kind === 'object') bail(`${model}.${column}: a relation`);
    const named = getNamedType(gqlType).name;
    const c = col(alias, column);
    if (f.isList && (named === 'DateTime' || named === 'Date' || named === 'Decimal')) bail(`${model}.${column}: list of ${named}`);
    switch (named) {
      case 'DateTime':
        return f.type === 'DateTime' ? sqlDateTime(c) : bail(`${model}.${column}: DateTime of ${f.type}`);
      case 'Date':
        return f.type === 'DateTime' ? sqlDate(c) : bail(`${model}.${column}: Date of ${f.type}`);
      case 'Decimal':
        return f.type === 'Decimal' ? sqlDecimal(c) : bail(`${model}.${column}: Decimal of ${f.type}`);
      case 'Float':
        return bail(`${model}.${column}: Float`);
      default:
        if (f.type === 'BigInt' || f.type === 'Bytes' || f.type === 'Float') bail(`${model}.${column}: ${f.type}`);
        // Prisma reads a NULL list column as [].
        return f.isList ? Prisma.sql`COALESCE(to_json(${c}), '[]'::json)` : c;
    }
  }

  /** A Pothos `t.relation`: a to-one sub-select, or a to-many json_agg in the relation's declared order. */
  relationSql(
    type: GraphQLObjectType,
    model: string,
    alias: string,
    field: GraphQLField<unknown, unknown>,
    relation: string,
    nodes: readonly FieldNode[],
  ): Prisma.Sql {
    const rel = modelField(model, relation);
    const target = getNamedType(field.type);
    if (!isObjectType(target) || ext(target).pothosPrismaModel !== rel.type) return bail(`${type.name}.${field.name}: target`);
    const query = relationQuery(field, this.ctx);
    const t = this.alias();
    const sub = this.objectJson(target, rel.type, t, nodes);
    const shop = hasShopId(rel.type) && hasShopId(model) ? Prisma.sql` AND ${col(t, 'shopId')} = ${col(alias, 'shopId')}` : Prisma.empty;
    if (!rel.isList) {
      if (query === null || Object.keys(query).length > 0) bail(`${type.name}.${field.name}: query`);
      const from = rel.relationFromFields ?? [];
      const fk = from.filter((x) => x !== 'shopId');
      if (fk.length !== 1) return bail(`${type.name}.${field.name}: to-one without a foreign key here`);
      return Prisma.sql`(SELECT ${sub} FROM ${table(rel.type)} ${Prisma.raw(t)} WHERE ${col(t, 'id')} = ${col(alias, fk[0] as string)}${shop})`;
    }
    const back = MODELS[rel.type]?.fields.find((x) => x.kind === 'object' && x.relationName === rel.relationName && x.type === model);
    const backFk = (back?.relationFromFields ?? []).filter((x) => x !== 'shopId');
    if (backFk.length !== 1) return bail(`${type.name}.${field.name}: back relation`);
    const q = listQuerySql(query, t, rel.type) ?? bail(`${type.name}.${field.name}: query`);
    // json_agg over an ordered, limited sub-select keeps the sub-select's order.
    return Prisma.sql`(SELECT COALESCE(json_agg(r.j), '[]'::json) FROM (SELECT ${sub} AS j FROM ${table(rel.type)} ${Prisma.raw(t)}
      WHERE ${col(t, backFk[0] as string)} = ${col(alias, 'id')}${shop}${q.where} ORDER BY ${q.order}${q.limit}) r)`;
  }
}

/** The static Prisma query a Pothos `t.relation` adds (its `query` option), read through the field's own select builder. */
function relationQuery(field: GraphQLField<unknown, unknown>, ctx: Context): Record<string, unknown> | null {
  const select = (field.extensions as { pothosPrismaSelect?: unknown }).pothosPrismaSelect;
  if (typeof select !== 'function') return null;
  const built = select({}, ctx, (q: unknown) => ({ __query: q })) as { select?: Record<string, { __query?: unknown }> };
  const inner = Object.values(built?.select ?? {})[0]?.__query;
  return inner && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : null;
}

/** A to-many relation's `orderBy` (required: a list needs an order), `where` (column equals a constant or null) and `take`, as SQL. */
function listQuerySql(query: Record<string, unknown> | null, alias: string, model: string) {
  if (!query) return null;
  const { orderBy, where, take, ...rest } = query;
  if (Object.keys(rest).length > 0 || !orderBy) return null;
  const items = Array.isArray(orderBy) ? orderBy : [orderBy];
  const order: Prisma.Sql[] = [];
  for (const item of items) {
    const entries = Object.entries(item as Record<string, unknown>);
    if (entries.length !== 1) return null;
    const [name, dir] = entries[0] as [string, unknown];
    if ((dir !== 'asc' && dir !== 'desc') || modelField(model, name).kind === 'object') return null;
    order.push(Prisma.sql`${col(alias, name)} ${Prisma.raw(dir === 'asc' ? 'ASC' : 'DESC')}`);
  }
  const conds: Prisma.Sql[] = [];
  for (const [name, v] of Object.entries((where ?? {}) as Record<string, unknown>)) {
    if (modelField(model, name).kind === 'object') return null;
    if (v === null) conds.push(Prisma.sql` AND ${col(alias, name)} IS NULL`);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      conds.push(Prisma.sql` AND ${col(alias, name)} = ${v}`);
    else return null;
  }
  if (take !== undefined && (typeof take !== 'number' || !Number.isInteger(take) || take < 0)) return null;
  return {
    order: Prisma.join(order, ', '),
    where: conds.length ? Prisma.join(conds, '') : Prisma.empty,
    limit: take === undefined ? Prisma.empty : Prisma.sql` LIMIT ${take}`,
  };
}

/** The operation's fragments by name. */
export function fragmentsOf(definitions: readonly { kind: string }[]): Record<string, FragmentDefinitionNode> {
  const out: Record<string, FragmentDefinitionNode> = {};
  for (const d of definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) out[(d as FragmentDefinitionNode).name.value] = d as FragmentDefinitionNode;
  return out;
}

/** base64("GPC:S:<id>"): plugin-prisma's cursor of a string id (formatPrismaCursor(row, 'id')). */
export const sqlIdCursor = (e: Prisma.Sql) =>
  Prisma.sql`translate(encode(convert_to('GPC:S:' || ${e}::text, 'UTF8'), 'base64'), E'\\n', '')`;

/**
 * A Pothos `t.relatedConnection` under a row, as one JSON expression: the first page (forward only:
 * `first`, default 20, clamped to 100 like plugin-prisma; `after`/`last`/`before` bail), its
 * cursors, pageInfo and the relation's total count (no filter: the connection's query has none).
 */
export function relatedConnectionSql(
  c: Compiler,
  f: FieldInput,
  rel: { model: string; fk: string; order: [string, 'ASC' | 'DESC'][]; defaultSize?: number; maxSize?: number },
): Prisma.Sql {
  const node = f.nodes[0] ?? bail('connection');
  const args = c.args(f.field, node) as { first?: number | null; after?: unknown; last?: unknown; before?: unknown };
  if (args.after != null || args.last != null || args.before != null) bail(`${f.type.name}.${f.field.name}: paging arguments`);
  if (args.first != null && args.first < 0) bail(`${f.type.name}.${f.field.name}: first`);
  const size = Math.min(args.first ?? rel.defaultSize ?? 20, rel.maxSize ?? 100);
  const connType = getNamedType(f.field.type);
  if (!isObjectType(connType)) return bail('connection type');
  const t = c.alias();
  const r = c.alias();
  const shop = Prisma.sql`${col(t, 'shopId')} = ${col(f.alias, 'shopId')}`;
  const where = Prisma.sql`${col(t, rel.fk)} = ${col(f.alias, 'id')} AND ${shop}`;
  const order = Prisma.join(
    rel.order.map(([name, dir]) => Prisma.sql`${col(t, name)} ${Prisma.raw(dir)}`),
    ', ',
  );
  const parts: Prisma.Sql[] = [];
  let nodeSql: Prisma.Sql | null = null;
  const edgeParts = (edgeType: GraphQLObjectType, nodes: readonly FieldNode[]) => {
    const ps: Prisma.Sql[] = [];
    for (const [key, n] of c.subfields(edgeType, nodes)) {
      const name = n[0]?.name.value as string;
      const k = Prisma.raw(`'${key}'`);
      if (name === '__typename') ps.push(Prisma.sql`${k}, ${edgeType.name}::text`);
      else if (name === 'cursor') ps.push(Prisma.sql`${k}, ${sqlIdCursor(col(r, 'id'))}`);
      else if (name === 'node') {
        const nodeType = getNamedType(edgeType.getFields().node?.type);
        if (!isObjectType(nodeType)) bail('node type');
        nodeSql = c.objectJson(nodeType as GraphQLObjectType, rel.model, r, n);
        ps.push(Prisma.sql`${k}, ${nodeSql}`);
      } else bail(`${edgeType.name}.${name}`);
      if (name !== '__typename') c.authorize(edgeType, edgeType.getFields()[name] ?? bail(name));
    }
    return ps.length ? Prisma.sql`json_build_object(${Prisma.join(ps, ', ')})` : bail('empty edge');
  };
  for (const [key, n] of c.subfields(connType, f.nodes)) {
    const name = n[0]?.name.value as string;
    const k = Prisma.raw(`'${key}'`);
    if (name === '__typename') {
      parts.push(Prisma.sql`${k}, ${connType.name}::text`);
      continue;
    }
    const sub = connType.getFields()[name] ?? bail(name);
    c.authorize(connType, sub);
    if (name === 'totalCount') {
      parts.push(Prisma.sql`${k}, (SELECT count(*)::int FROM ${table(rel.model)} ${Prisma.raw(t)} WHERE ${where})`);
    } else if (name === 'edges') {
      const edgeType = getNamedType(sub.type) as GraphQLObjectType;
      parts.push(
        Prisma.sql`${k}, COALESCE((SELECT json_agg(${edgeParts(edgeType, n)} ORDER BY ${Prisma.raw(r)}.rn) FROM page_rows ${Prisma.raw(r)} WHERE ${Prisma.raw(r)}.rn <= ${size}), '[]'::json)`,
      );
    } else if (name === 'pageInfo') {
      const info = getNamedType(sub.type) as GraphQLObjectType;
      const ps: Prisma.Sql[] = [];
      for (const [ik, inodes] of c.subfields(info, n)) {
        const iname = inodes[0]?.name.value as string;
        const kk = Prisma.raw(`'${ik}'`);
        if (iname !== '__typename') c.authorize(info, info.getFields()[iname] ?? bail(iname));
        if (iname === '__typename') ps.push(Prisma.sql`${kk}, ${info.name}::text`);
        else if (iname === 'hasNextPage') ps.push(Prisma.sql`${kk}, (SELECT count(*) > ${size} FROM page_rows)`);
        else if (iname === 'hasPreviousPage') ps.push(Prisma.sql`${kk}, false`);
        else if (iname === 'startCursor' || iname === 'endCursor') {
          const pick = iname === 'startCursor' ? Prisma.sql`1` : Prisma.sql`LEAST((SELECT count(*) FROM page_rows), ${size})`;
          ps.push(
            Prisma.sql`${kk}, (SELECT ${sqlIdCursor(col(r, 'id'))} FROM page_rows ${Prisma.raw(r)} WHERE ${Prisma.raw(r)}.rn = ${pick} AND ${Prisma.raw(r)}.rn <= ${size})`,
          );
        } else bail(`PageInfo.${iname}`);
      }
      parts.push(Prisma.sql`${k}, json_build_object(${Prisma.join(ps, ', ')})`);
    } else bail(`${connType.name}.${name}`);
  }
  if (!parts.length) bail('empty connection');
  // The page (one row more than asked, to tell hasNextPage), numbered in the connection's order.
  return Prisma.sql`(WITH page_rows AS (
      SELECT ${Prisma.raw(t)}.*, row_number() OVER (ORDER BY ${order}) AS rn FROM ${table(rel.model)} ${Prisma.raw(t)} WHERE ${where} ORDER BY ${order} LIMIT ${size + 1})
    SELECT json_build_object(${Prisma.join(parts, ', ')}))`;
}
