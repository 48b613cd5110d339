import { formatPrismaCursor } from '@pothos/plugin-prisma';
import { type FieldNode, type GraphQLField, type GraphQLObjectType, getNamedType, isObjectType } from 'graphql';
import { Prisma } from '../generated/prisma/client.ts';
import { rowIdOf } from '../modules/common/graphql-helpers.ts';
import { bail, type Compiler } from './compiler.ts';

/** The object type a field returns (else the compiled path gives up). */
export const objectType = (f: GraphQLField<unknown, unknown>): GraphQLObjectType => {
  const t = getNamedType(f.type);
  return isObjectType(t) ? t : bail(`${f.name}: not an object`);
};

/** A page row of a root connection: its id (the cursor) and its node's JSON text from the statement. */
export type PageRow = { id: string; node: string | null } & Record<string, unknown>;

/**
 * A root connection's answer from its page rows (first + 1 of them), in the selection's order, as
 * plugin-prisma's wrapConnectionResult builds it: cursors of the `id`, hasNextPage from the extra
 * row, hasPreviousPage when paging after a cursor. `fields` answers the connection's other fields
 * (totalCount, counts), `edgeFields` an edge's other fields from its row.
 */
export async function connectionFromRows(
  c: Compiler,
  type: GraphQLObjectType,
  nodes: readonly FieldNode[],
  page: {
    rows: PageRow[];
    take: number;
    after: boolean;
    fields?: Record<string, () => unknown>;
    edgeFields?: Record<string, (row: PageRow) => unknown>;
  },
): Promise<Record<string, unknown>> {
  const full = page.rows.length === page.take;
  const rows = full ? page.rows.slice(0, -1) : page.rows;
  const cursors = rows.map((r) => formatPrismaCursor(r, 'id'));
  const out: Record<string, unknown> = {};
  const pending: Promise<void>[] = [];
  for (const [key, fieldNodes] of c.subfields(type, nodes)) {
    const name = fieldNodes[0]?.name.value as string;
    if (name === '__typename') {
      out[key] = type.name;
      continue;
    }
    const field = type.getFields()[name] ?? bail(`${type.name}.${name}`);
    c.authorize(type, field);
    const extra = page.fields?.[name];
    if (extra) {
      out[key] = null;
      pending.push(
        Promise.resolve(extra()).then((v) => {
          out[key] = v;
        }),
      );
    } else if (name === 'pageInfo') {
      const info = objectType(field);
      const values: Record<string, unknown> = {
        hasNextPage: full,
        hasPreviousPage: page.after,
        startCursor: cursors[0] ?? null,
        endCursor: cursors[cursors.length - 1] ?? null,
        __typename: info.name,
      };
      const o: Record<string, unknown> = {};
      for (const [k, n] of c.subfields(info, fieldNodes)) {
        const fname = n[0]?.name.value as string;
        if (!(fname in values)) bail(`PageInfo.${fname}`);
        if (fname !== '__typename') c.authorize(info, info.getFields()[fname] ?? bail(fname));
        o[k] = values[fname];
      }
      out[key] = o;
    } else if (name === 'edges') {
      const edge = objectType(field);
      const edgeFields = [...c.subfields(edge, fieldNodes)];
      for (const [, n] of edgeFields) {
        const fname = n[0]?.name.value as string;
        if (fname !== '__typename') c.authorize(edge, edge.getFields()[fname] ?? bail(fname));
        if (fname !== '__typename' && fname !== 'cursor' && fname !== 'node' && !page.edgeFields?.[fname]) bail(`${edge.name}.${fname}`);
      }
      out[key] = rows.map((r, i) => {
        const o: Record<string, unknown> = {};
        for (const [k, n] of edgeFields) {
          const fname = n[0]?.name.value as string;
          if (fname === '__typename') o[k] = edge.name;
          else if (fname === 'cursor') o[k] = cursors[i];
          else if (fname === 'node') o[k] = r.node === null ? bail('node') : JSON.parse(r.node);
          else o[k] = page.edgeFields?.[fname]?.(r);
        }
        return o;
      });
    } else {
      bail(`${type.name}.${name}`);
    }
  }
  await Promise.all(pending);
  return out;
}

/** The `node` selection under `edges` of a connection (merged over every `edges` occurrence). */
export function nodeSelection(c: Compiler, type: GraphQLObjectType, nodes: readonly FieldNode[]): FieldNode[] {
  const out: FieldNode[] = [];
  for (const [, fieldNodes] of c.subfields(type, nodes)) {
    if (fieldNodes[0]?.name.value !== 'edges') continue;
    const edgesField = type.getFields().edges ?? bail('edges');
    for (const [, n] of c.subfields(objectType(edgesField), fieldNodes)) if (n[0]?.name.value === 'node') out.push(...n);
  }
  return out;
}

/**
 * The page-node prologue shared by root connections: the connection's type, the alias `p` of the
 * page's rows, and the statement's `node` column (the node's JSON text, or NULL when no edge asks
 * for a node). `model` names the Prisma model the node type reads.
 */
export function pageNodeSql(
  c: Compiler,
  field: GraphQLField<unknown, unknown>,
  nodes: readonly FieldNode[],
  model: string,
): { connType: GraphQLObjectType; p: string; nodeSql: Prisma.Sql } {
  const connType = objectType(field);
  const nodeNodes = nodeSelection(c, connType, nodes);
  const edgeType = objectType(connType.getFields().edges ?? bail('edges'));
  const nodeType = objectType(edgeType.getFields().node ?? bail('node'));
  const p = c.alias();
  const nodeSql = nodeNodes.length ? Prisma.sql`${c.objectJson(nodeType, model, p, nodeNodes)}::text` : Prisma.sql`NULL::text`;
  return { connType, p, nodeSql };
}

/** The row id of a global id of `typename`; anything else gives up (the executor reports it). */
export function rowIdOrBail(globalId: string, typename: string, what: string): string {
  try {
    return rowIdOf(globalId, typename);
  } catch {
    return bail(`${what}: id`);
  }
}
