import { complexityFromQuery } from '@pothos/plugin-complexity';
import {
  type DocumentNode,
  type GraphQLField,
  type GraphQLSchema,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { complexityLimit } from '../builder.ts';
import type { Context } from '../context.ts';
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

/** The answer's `data`, or null when the executor must answer. */
export async function compiledAnswer(
  schema: GraphQLSchema,
  doc: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Record<string, unknown> | null | undefined,
  ctx: Context,
): Promise<Record<string, unknown> | null> {
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
    const plans: [string, Promise<unknown>][] = [];
    for (const [key, nodes] of roots) {
      const name = nodes[0]?.name.value ?? '';
      if (name === '__typename') {
        plans.push([key, Promise.resolve(queryType.name)]);
        continue;
      }
      const root = rootCompilerOf(name);
      const field = queryType.getFields()[name];
      if (!root || !field) bail(`Query.${name}: no compiler`);
      compiler.authorize(queryType, field);
      const plan = (root as RootCompiler)(compiler, field as GraphQLField<unknown, unknown>, nodes);
      // Handled here at once: a later root field may give up before allSettled below sees this one.
      plan.catch(() => {});
      plans.push([key, plan]);
    }
    const settled = await Promise.allSettled(plans.map(([, p]) => p));
    const data: Record<string, unknown> = {};
    for (const [i, s] of settled.entries()) {
      // Any failure (a bail, a database error) goes to the executor, which reports it as it always does.
      if (s.status === 'rejected') {
        compiledReadStats.lastBail = s.reason instanceof NotCompiled ? s.reason.message : 'database';
        return null;
      }
      data[plans[i]?.[0] as string] = s.value;
    }
    return data;
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
        const data = await compiledAnswer(a.schema, a.document, a.operationName, a.variableValues as Record<string, unknown> | null, ctx);
        if (data) {
          compiledReadStats.compiled++;
          return { data };
        }
        compiledReadStats.executor++;
        return executeFn(a);
      });
    },
  };
}
