import { createSourceEventStream, type DocumentNode, type ExecutionArgs, type ExecutionResult, execute } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../../context.ts';

/**
 * One execution per event row, shared by every subscriber that would compute the same result.
 *
 * The bus hands the SAME Event row object to every live subscriber of a shop (event-bus.ts), so
 * 1,000 subscribers of `subscription { leadCreated { id payload } }` would otherwise run 1,000
 * identical GraphQL executions of that row. This Yoga/envelop plugin replaces the subscribe
 * function: the source stream still comes from each subscriber's own resolver (its filter, its
 * cursor, its auth checks, all per subscriber), but the per-event execution of the selection is
 * memoised per (row object, document, variables, operation, viewer: shop + scopes + staff). What a
 * subscriber receives is exactly what its own execution would have produced: the execution only
 * depends on those inputs. Rows read by a catching-up subscriber are its own objects and are
 * executed for it alone. Error masking and other plugins still apply per subscriber (envelop's
 * onSubscribeResult hooks wrap the returned stream).
 */
const docIds = new WeakMap<DocumentNode, number>();
let nextDocId = 0;
const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

function viewerKey(ctx: Context): string | null {
  const v = ctx.viewer;
  if (v.kind !== 'secret') return null;
  return `${v.shopId}|${[...v.scopes].sort().join(',')}|${v.staff ? `${v.staff.id}:${v.staff.role}` : ''}`;
}

function mapStream<T, R>(source: AsyncIterator<T>, fn: (v: T) => Promise<R>): AsyncIterableIterator<R> {
  const close = async () => {
    await source.return?.();
    return { value: undefined as never, done: true as const };
  };
  const it: AsyncIterableIterator<R> = {
    async next() {
      const r = await source.next();
      if (r.done) return { value: undefined as never, done: true };
      try {
        return { value: await fn(r.value), done: false };
      } catch (err) {
        await source.return?.();
        throw err;
      }
    },
    return: close,
    async throw(err?: unknown) {
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}

export function sharedEventExecutionPlugin(): Plugin<Context> {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const who = viewerKey(args.contextValue as Context);
      if (!who) return;
      let doc = docIds.get(args.document);
      if (doc === undefined) {
        doc = nextDocId++;
        docIds.set(args.document, doc);
      }
      const key = `${doc}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${who}`;
      setSubscribeFn(async (a: ExecutionArgs) => {
        const source = await createSourceEventStream(a);
        if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
        return mapStream(source as AsyncIterableIterator<unknown>, async (event) => {
          if (typeof event !== 'object' || event === null) return execute({ ...a, rootValue: event });
          let byKey = results.get(event);
          if (!byKey) {
            byKey = new Map();
            results.set(event, byKey);
          }
          let r = byKey.get(key);
          if (!r) {
            r = Promise.resolve(execute({ ...a, rootValue: event }));
            byKey.set(key, r);
          }
          return r;
        });
      });
    },
  };
}
