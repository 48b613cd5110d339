import { complexityFromQuery } from '@pothos/plugin-complexity';
import {
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLError,
  type GraphQLField,
  type GraphQLSchema,
  getVariableValues,
  isNonNullType,
  Kind,
  locatedError,
  type OperationDefinitionNode,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { complexityLimit } from '../builder.ts';
import type { Context } from '../context.ts';
import { busyDatabaseError } from '../db/database.ts';
import { isDatabaseUnavailable } from '../edge/unavailable.ts';
import { bail, Compiler, fragmentsOf, NotCompiled, type RootCompiler, rootCompilerOf } from './compiler.ts';

/**
 * Answers read queries through the compiled path (compiler.ts) when every root field and every
 * selected field has a compiler and the caller may read all of them; otherwise (or when
 * COMPILED_READS=0) the ordinary executor runs. It only swaps the execute function, so a
 * response-cache hit still wins and a compiled answer is cached like any other.
 */

/**
 * How queries were answered in this process (tests read it to prove the compiled path was taken;
 * `lastBail` names the first field or argument that sent a query to the executor: field names
 * only, never values).
 */
export const compiledReadStats = { compiled: 0, executor: 0, lastBail: '' };

type Shape = { op: OperationDefinitionNode } | null;
/** Per parsed document (Yoga's parser cache hands equal texts the same node): can it be compiled at all? */
const shapes = new WeakMap<DocumentNode, Map<string, Shape>>();

function shapeOf(doc: DocumentNode, operationName: string | null | undefined): Shape {
  let byName = shapes.get(doc);
  if (!byName) {
    byName = new Map();
    shapes.set(doc, byName);
  }
  const key = operationName ?? '';
  if (byName.has(key)) return byName.get(key) ?? null;
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = ops.length === 1 ? ops[0] : undefined;
  let shape: Shape = null;
  if (op && op.operation === 'query' && (!operationName || op.name?.value === operationName)) {
    // Directives (@skip/@include/@defer/...) are left to the executor.
    let directives = false;
    visit(doc, {
      Directive() {
        directives = true;
      },
    });
    if (!directives) shape = { op };
  }
  byName.set(key, shape);
  return shape;
}

/**
 * A failure the executor would only meet again, after as long a wait: the database unreachable, or
 * no connection or transaction free in time. Reported from the compiled path itself (as the
 * executor reports it), not run a second time; any other failure goes to the executor.
 */
const notWorthRerunning = (err: unknown) => isDatabaseUnavailable(err) || busyDatabaseError(err) !== null;

/** The answer (`data`, and `errors` when the database failed), or null when the executor must answer. */
export async function compiledAnswer(
  schema: GraphQLSchema,
  doc: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Record<string, unknown> | null | undefined,
  ctx: Context,
): Promise<ExecutionResult | null> {
  const shape = shapeOf(doc, operationName);
  if (!shape) {
    compiledReadStats.lastBail = 'operation';
    return null;
  }
  const queryType = schema.getQueryType();
  if (!queryType) return null;
  const coerced = getVariableValues(schema, shape.op.variableDefinitions ?? [], rawVariables ?? {});
  if (coerced.errors) {
    compiledReadStats.lastBail = 'variables';
    return null;
  }
  try {
    // The same limits the executor enforces (plugin-complexity checks them on the root fields).
    const limit = complexityLimit(ctx);
    const measured = complexityFromQuery(doc, { schema, ctx, variables: rawVariables ?? {} });
    if (measured.depth > limit.depth || measured.breadth > limit.breadth || measured.complexity > limit.complexity) bail('limits');
    const compiler = new Compiler(schema, fragmentsOf(doc.definitions), coerced.coerced, ctx);
    const roots = compiler.rootFields(shape.op, queryType);
    const plans: [string, Promise<unknown>, readonly FieldNode[], GraphQLField<unknown, unknown> | null][] = [];
    for (const [key, nodes] of roots) {
      const name = nodes[0]?.name.value ?? '';
      if (name === '__typename') {
        plans.push([key, Promise.resolve(queryType.name), nodes, null]);
        continue;
      }
      const root = rootCompilerOf(name);
      const field = queryType.getFields()[name];
      if (!root || !field) bail(`Query.${name}: no compiler`);
      compiler.authorize(queryType, field);
      const plan = (root as RootCompiler)(compiler, field as GraphQLField<unknown, unknown>, nodes);
      // Handled here at once: a later root field may give up before allSettled below sees this one.
      plan.catch(() => {});
      plans.push([key, plan, nodes, field as GraphQLField<unknown, unknown>]);
    }
    const settled = await Promise.allSettled(plans.map(([, p]) => p));
    // Any other failure (a bail, an error in a statement) goes to the executor, which reports it as it always does.
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !notWorthRerunning(s.reason));
    if (failed) {
      compiledReadStats.lastBail = failed.reason instanceof NotCompiled ? failed.reason.message : 'database';
      return null;
    }
    let data: Record<string, unknown> | null = {};
    const errors: GraphQLError[] = [];
    for (const [i, s] of settled.entries()) {
      const [key, , nodes, field] = plans[i] as (typeof plans)[number];
      if (s.status === 'fulfilled') {
        if (data) data[key] = s.value;
        continue;
      }
      // As the executor reports a root field's error: located at the field, null in its place (or no data at all when it is non-null).
      errors.push(locatedError(s.reason, nodes, [key]));
      if (data && field && isNonNullType(field.type)) data = null;
      else if (data) data[key] = null;
    }
    return errors.length ? { data, errors } : { data };
  } catch (err) {
    // NotCompiled, or anything unexpected while compiling: the executor answers.
    compiledReadStats.lastBail = err instanceof NotCompiled ? err.message : 'error';
    if (!(err instanceof NotCompiled))
      ctx.services.logger.warn('compiled read failed, executor answers', { error: (err as Error)?.name ?? 'unknown' });
    return null;
  }
}

export function compiledReadsPlugin(): Plugin<Context> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const ctx = args.contextValue as Context;
      if (ctx.viewer.kind === 'anonymous' || !shapeOf(args.document, args.operationName)) return;
      // Inside the execute function (not before it), so the operation's trace span holds the compiled statement too.
      setExecuteFn(async (a) => {
        const result = await compiledAnswer(a.schema, a.document, a.operationName, a.variableValues as Record<string, unknown> | null, ctx);
        if (result) {
          compiledReadStats.compiled++;
          return result;
        }
        compiledReadStats.executor++;
        return executeFn(a);
      });
    },
  };
}
