import {
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  getNamedType,
  getOperationAST,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  TypeInfo,
  type ValueNode,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ValidationError } from '../errors.ts';
import { checkPrismaCursor } from '../modules/common/graphql-helpers.ts';

/**
 * Connection cursors (`after` / `before` of every connection field of the schema) are decoded and
 * their payload checked here, before any resolver runs and so before any SQL: a malformed cursor
 * is a VALIDATION_FAILED naming the argument, as a malformed id is (`decodeGlobalId`).
 *
 * Hand-written because Pothos has no hook for it: plugin-prisma's `cursor` option is only a column
 * name, and a `relatedConnection`'s cursor is parsed while its parent plans its query (the parent's
 * SQL would carry it), before the connection field's own resolver could check anything. So the
 * operation is walked instead (its selected fields, through fragments, with the request's
 * variables), like the input guard (input-guard.ts) walks every argument.
 *
 * What a connection's cursor is:
 * - a Prisma connection (`t.prismaConnection` / `t.relatedConnection`, node type backed by a
 *   model): the model's id, as plugin-prisma writes it (`checkPrismaCursor`). Every connection of
 *   this schema declares `cursor: 'id'`; one paging by another unique column would need its own
 *   `connectionCursor` (below), else the guard would refuse its valid cursors (the cursor test
 *   round-trips a real cursor of each connection it can fill).
 * - any other connection (`t.connection`): the decoder in its field's `extensions.connectionCursor`
 *   (it throws on a malformed cursor). A connection with neither stops the server at startup.
 */

/** Field extension of a non-Prisma connection: decodes a cursor, throwing when it is malformed. */
export type ConnectionCursorDecoder = (cursor: string) => unknown;

type Check = (cursor: string, path: string[]) => void;
const CURSOR_ARGS = ['after', 'before'] as const;

function isConnection(field: GraphQLField<unknown, unknown>): boolean {
  const type = getNamedType(field.type);
  if (!isObjectType(type)) return false;
  const fields = type.getFields();
  return !!fields.edges && !!fields.pageInfo && field.args.some((a) => (CURSOR_ARGS as readonly string[]).includes(a.name));
}

/** The Prisma model of a connection's nodes (plugin-prisma's type extension), if any. */
function nodeModelOf(field: GraphQLField<unknown, unknown>): string | undefined {
  const conn = getNamedType(field.type);
  const edge = isObjectType(conn) ? conn.getFields().edges : undefined;
  const edgeType = edge ? getNamedType(edge.type) : undefined;
  const node = isObjectType(edgeType) ? edgeType.getFields().node : undefined;
  return node ? (getNamedType(node.type).extensions?.pothosPrismaModel as string | undefined) : undefined;
}

/**
 * The cursor check of every connection field ("Type.field"), read from the schema. Throws when a
 * connection has no known cursor format (so a new one cannot go unchecked).
 */
export function connectionCursorChecks(schema: GraphQLSchema): Map<string, Check> {
  const checks = new Map<string, Check>();
  const unknown: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(isObjectType(type) || isInterfaceType(type)) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (!isConnection(field)) continue;
      const coord = `${type.name}.${field.name}`;
      const decoder = field.extensions?.connectionCursor as ConnectionCursorDecoder | undefined;
      const model = nodeModelOf(field);
      if (decoder) {
        checks.set(coord, (cursor, path) => {
          try {
            decoder(cursor);
          } catch {
            throw ValidationError.field(path, `Not a valid cursor: ${JSON.stringify(cursor.slice(0, 80))}`, 'invalid_cursor');
          }
        });
      } else if (model) {
        checks.set(coord, (cursor, path) => checkPrismaCursor(cursor, model, path));
      } else {
        unknown.push(coord);
      }
    }
  }
  if (unknown.length) {
    throw new Error(`Connections without a known cursor format (give them extensions.connectionCursor): ${unknown.join(', ')}`);
  }
  return checks;
}

/** A cursor argument in the document: its literal, or the variable that holds it. */
type Site = { coord: string; arg: string; literal?: string; variable?: string; fallback?: string };

/** Cursor arguments of connection fields in the operation (and the fragments it spreads). */
function sitesOf(schema: GraphQLSchema, checks: Map<string, Check>, doc: DocumentNode, op: OperationDefinitionNode): Site[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const defaults = new Map<string, ValueNode>();
  for (const v of op.variableDefinitions ?? []) if (v.defaultValue) defaults.set(v.variable.name.value, v.defaultValue);
  const sites: Site[] = [];
  const seen = new Set<string>();
  const walk = (root: OperationDefinitionNode | FragmentDefinitionNode) => {
    const typeInfo = new TypeInfo(schema);
    visit(
      root,
      visitWithTypeInfo(typeInfo, {
        FragmentSpread(node) {
          const f = fragments.get(node.name.value);
          if (f && !seen.has(f.name.value)) {
            seen.add(f.name.value);
            walk(f);
          }
        },
        Field(node) {
          const parent = typeInfo.getParentType();
          const coord = parent ? `${parent.name}.${node.name.value}` : '';
          if (!checks.has(coord)) return;
          for (const a of node.arguments ?? []) {
            if (!(CURSOR_ARGS as readonly string[]).includes(a.name.value)) continue;
            if (a.value.kind === Kind.STRING) sites.push({ coord, arg: a.name.value, literal: a.value.value });
            else if (a.value.kind === Kind.VARIABLE) {
              const d = defaults.get(a.value.name.value);
              sites.push({
                coord,
                arg: a.name.value,
                variable: a.value.name.value,
                fallback: d?.kind === Kind.STRING ? d.value : undefined,
              });
            }
          }
        },
      }),
    );
  };
  walk(op);
  return sites;
}

/** Per parsed document and operation name (Yoga's parser cache hands equal texts the same node). */
const sitesCache = new WeakMap<DocumentNode, Map<string, Site[]>>();

/** Refuses an operation with a malformed connection cursor (a ValidationError naming the argument) before anything runs. */
export function cursorGuardPlugin(schema: GraphQLSchema): Plugin {
  // Built now: a connection without a known cursor format stops the server at startup.
  const checks = connectionCursorChecks(schema);
  const check = (doc: DocumentNode, operationName: string | null | undefined, variables: unknown) => {
    let byOp = sitesCache.get(doc);
    if (!byOp) {
      byOp = new Map();
      sitesCache.set(doc, byOp);
    }
    const key = operationName ?? '';
    let sites = byOp.get(key);
    if (!sites) {
      const op = getOperationAST(doc, operationName);
      // No such operation: the executor reports it.
      sites = op ? sitesOf(schema, checks, doc, op) : [];
      byOp.set(key, sites);
    }
    const vars = (variables && typeof variables === 'object' ? variables : {}) as Record<string, unknown>;
    for (const s of sites) {
      // Own keys only, as GraphQL reads variables (a variable named `constructor` is not Object's).
      const value = s.variable === undefined ? s.literal : Object.hasOwn(vars, s.variable) ? vars[s.variable] : s.fallback;
      // null / absent: no cursor; not a string: GraphQL's coercion refuses it.
      if (typeof value === 'string') checks.get(s.coord)?.(value, [s.arg]);
    }
  };
  return {
    onExecute({ args }) {
      check(args.document, args.operationName, args.variableValues);
    },
    onSubscribe({ args }) {
      check(args.document, args.operationName, args.variableValues);
    },
  };
}
