import { CrmError } from './errors.js';

/** The part of a Relay connection {@link paginate} needs. */
export type Connection<N> = {
  edges: readonly { node: N }[];
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
};

/** Options of {@link paginate}. */
export type PaginateOptions = {
  /**
   * Stop after this many nodes.
   * @default Infinity
   */
  limit?: number;
};

/**
 * Iterates over every node of a Relay connection, page by page: calls `fetchPage(undefined)`,
 * then `fetchPage(pageInfo.endCursor)` while `pageInfo.hasNextPage`. A `null` connection (e.g.
 * the timeline of a customer not in this shop) ends the iteration.
 *
 * @example
 * for await (const customer of paginate((after) => crm.customers.list({ first: 100, after, filter: { tagsAny: ['vip'] } }))) {
 *   console.log(customer.displayName);
 * }
 */
export async function* paginate<N>(
  fetchPage: (after: string | undefined) => Promise<Connection<N> | null | undefined>,
  options: PaginateOptions = {},
): AsyncGenerator<N, void, undefined> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  let after: string | undefined;
  let count = 0;
  while (count < limit) {
    const page = await fetchPage(after);
    if (!page) return;
    for (const edge of page.edges) {
      if (count >= limit) return;
      count++;
      yield edge.node;
    }
    const next = page.pageInfo.endCursor;
    if (!page.pageInfo.hasNextPage || page.edges.length === 0) return;
    if (!next || seen.has(next)) {
      throw new CrmError('Pagination stalled: hasNextPage without a new endCursor', { code: 'PAGINATION_STALLED' });
    }
    seen.add(next);
    after = next;
  }
}

type NodeOf<C> = C extends { edges: readonly { node: infer N }[] } ? N : never;

/**
 * What list methods return: the first page (a Promise of the connection, as before) that is also
 * an async iterable over every node of every page, following `endCursor` (stripe-node's
 * auto-pagination style).
 *
 * @example
 * const page = await crm.customers.list({ first: 50 });          // one page
 * for await (const c of crm.customers.list({ first: 50 })) {}   // every customer, 50 per request
 */
export type PagePromise<C> = Promise<C> & AsyncIterable<NodeOf<NonNullable<C>>>;

/** Makes a {@link PagePromise}: fetches the first page now; iteration reuses it, then fetches the following pages. */
export function listPages<C extends Connection<unknown> | null | undefined>(
  fetchPage: (after: string | undefined) => Promise<C>,
  after?: string | null,
): PagePromise<C> {
  const first = fetchPage(after ?? undefined);
  return Object.assign(first, {
    [Symbol.asyncIterator]: () => {
      let used = false;
      const pages = (cursor: string | undefined) => {
        if (used) return fetchPage(cursor);
        used = true;
        return first;
      };
      return paginate(pages as (cursor: string | undefined) => Promise<Connection<NodeOf<NonNullable<C>>> | null | undefined>)[
        Symbol.asyncIterator
      ]();
    },
  });
}
