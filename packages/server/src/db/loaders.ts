import DataLoader from 'dataloader';
import type { Context } from '../context.ts';

const perContext = new WeakMap<Context, Map<string, DataLoader<string, unknown>>>();

/**
 * A request-scoped DataLoader, created on first use. `batch` receives unique keys and returns rows
 * with an `id`; results are matched back by id (missing ones resolve to null).
 */
export function loader<T extends { id: string }>(
  ctx: Context,
  name: string,
  batch: (ids: readonly string[]) => Promise<T[]>,
): DataLoader<string, T | null> {
  let map = perContext.get(ctx);
  if (!map) {
    map = new Map();
    perContext.set(ctx, map);
  }
  let l = map.get(name) as DataLoader<string, T | null> | undefined;
  if (!l) {
    l = new DataLoader<string, T | null>(async (ids) => {
      const rows = await batch(ids);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    map.set(name, l as DataLoader<string, unknown>);
  }
  return l;
}

const memos = new WeakMap<Context, Map<string, Promise<unknown>>>();

/** A value computed at most once per request (e.g. the shop's settings), shared by every resolver that asks. */
export function perRequest<T>(ctx: Context, name: string, compute: () => Promise<T>): Promise<T> {
  let map = memos.get(ctx);
  if (!map) {
    map = new Map();
    memos.set(ctx, map);
  }
  let p = map.get(name) as Promise<T> | undefined;
  if (!p) {
    p = compute();
    map.set(name, p);
  }
  return p;
}

/**
 * A Pothos prisma `query` that the resolver has no row for (it returns null or []): marks it read,
 * so that the unused-query check (onUnusedQuery, on outside production) knows the skip is meant.
 * Needed with select mode, where the query always carries the columns to select.
 */
export function skipQuery<T>(query: object, result: T): T {
  void { ...query };
  return result;
}
