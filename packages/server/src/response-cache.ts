import { type DocumentNode, getOperationAST, print } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from './context.ts';
import type { ShopCache } from './modules/events/shop-cache.ts';

/**
 * Optional response cache for read queries (RESPONSE_CACHE_MS > 0; off by default).
 *
 * Key: the caller's shop, viewer kind, key id (its scopes), staff user or customer token subject,
 * the document and the variables: two callers share an entry only when the API would answer them
 * alike. Entries live in a ShopCache: at most RESPONSE_CACHE_MS, and every entry of a shop is
 * dropped when the outbox reports committed events of that shop (this instance's mutations at
 * once, other instances' through the doorbells), a superset of "the entities in the response".
 * Never across shops: the shop id is part of every key. Not cached: mutations, subscriptions,
 * anonymous callers, answers with errors, incremental delivery.
 *
 * Hand-written rather than @graphql-yoga/plugin-response-cache because invalidation here is per
 * shop through the outbox event bus, which that plugin's entity-id invalidation does not model.
 */
type Result = { data?: unknown; errors?: readonly unknown[] };

const printed = new WeakMap<DocumentNode, string>();
const textOf = (doc: DocumentNode) => {
  let s = printed.get(doc);
  if (s === undefined) {
    s = print(doc);
    printed.set(doc, s);
  }
  return s;
};

function keyOf(ctx: Context, doc: DocumentNode, operationName: string | null | undefined, variables: unknown): string | null {
  const v = ctx.viewer;
  if (v.kind === 'anonymous') return null;
  const who = v.kind === 'secret' ? `s:${v.keyId}:${v.staff?.id ?? ''}` : `p:${v.keyId}:${v.customerId ?? ''}`;
  return `${who}\u0000${operationName ?? ''}\u0000${textOf(doc)}\u0000${JSON.stringify(variables ?? {})}`;
}

export function responseCachePlugin(cache: ShopCache<{ body: Result }>): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const op = getOperationAST(args.document, args.operationName);
      if (op?.operation !== 'query') return;
      const ctx = args.contextValue as Context;
      const key = keyOf(ctx, args.document, args.operationName, args.variableValues);
      if (!key || ctx.viewer.kind === 'anonymous') return;
      const shopId = ctx.viewer.shopId;
      const hit = cache.get(shopId, key);
      if (hit) {
        setResultAndStopExecution(hit.body as never);
        return;
      }
      // Taken before executing: a change committed while the query ran makes the answer unsafe to keep.
      const generation = cache.generation(shopId);
      return {
        onExecuteDone({ result }) {
          if (!result || Symbol.asyncIterator in (result as object)) return;
          const r = result as Result;
          if (r.errors?.length || cache.generation(shopId) !== generation) return;
          cache.set(shopId, key, { body: r });
        },
      };
    },
  };
}
