import { type Client, createClient } from 'graphql-ws';
import { CrmAuthError, CrmError, CrmGraphQLError, type GraphQLErrorEntry } from './errors.js';
import type { CrmLogger } from './transport.js';

/** Options for real-time subscriptions (graphql-ws over WebSocket). */
export type CrmSubscriptionOptions = {
  /**
   * The WebSocket URL.
   * @default the client's `url` with http(s) replaced by ws(s)
   */
  wsUrl?: string;
  /**
   * A WebSocket implementation, for runtimes without a global `WebSocket` (Node 20: pass the `ws`
   * package's default export).
   * @default globalThis.WebSocket
   */
  webSocketImpl?: unknown;
};

/** Per-subscription options. */
export type SubscribeOptions = {
  /**
   * Resume after this event id (the `id` of the last event you processed): missed events come
   * first, in order. The SDK keeps it up to date across reconnects.
   * @default undefined (start now)
   */
  after?: string;
  /** Ends the subscription (the iterator returns). */
  signal?: AbortSignal;
};

type Config = {
  url: string;
  getToken: () => string | Promise<string>;
  staffId?: string;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  logger?: CrmLogger;
} & CrmSubscriptionOptions;

const FATAL_CLOSE = new Set([4400, 4401, 4403, 4406, 4409, 4429, 4500]);

function toError(err: unknown): { error: CrmError; fatal: boolean } {
  if (Array.isArray(err)) {
    const errors = err as GraphQLErrorEntry[];
    const code = String(errors[0]?.extensions?.code ?? 'GRAPHQL_ERROR');
    const message = errors[0]?.message ?? 'Subscription failed';
    if (code === 'FORBIDDEN' || code === 'UNAUTHENTICATED') return { error: new CrmAuthError(message, { code }), fatal: true };
    return { error: new CrmGraphQLError(message, { code, errors }), fatal: true };
  }
  const close = err as { code?: number; reason?: string } | null;
  if (close && typeof close.code === 'number') {
    if (close.code === 4403 || close.code === 4401) {
      return {
        error: new CrmAuthError(close.reason || 'Connection refused: bad credentials', { code: 'UNAUTHENTICATED', status: close.code }),
        fatal: true,
      };
    }
    return {
      error: new CrmError(`Connection closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`, { code: 'NETWORK_ERROR' }),
      fatal: FATAL_CLOSE.has(close.code),
    };
  }
  return { error: new CrmError(String((err as Error)?.message ?? err), { code: 'NETWORK_ERROR', cause: err }), fatal: false };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * Subscriptions as async iterables with automatic reconnect: when the connection drops (or the
 * server restarts), the SDK reconnects with exponential backoff and resubscribes with
 * `after` = the last event id it delivered, so you get every event once, in order.
 * Authentication and authorisation failures end the iterator with a {@link CrmAuthError}.
 */
export function createSubscriber(cfg: Config) {
  const wsUrl = cfg.wsUrl ?? cfg.url.replace(/^http/, 'ws');
  let client: Client | null = null;
  const connect = () => {
    client ??= createClient({
      url: wsUrl,
      lazy: true,
      retryAttempts: 0,
      ...(cfg.webSocketImpl ? { webSocketImpl: cfg.webSocketImpl } : {}),
      connectionParams: async () => ({
        authorization: `Bearer ${await cfg.getToken()}`,
        ...(cfg.staffId ? { 'x-crm-staff-id': cfg.staffId } : {}),
      }),
    });
    return client;
  };
  const reset = async () => {
    const c = client;
    client = null;
    await c?.dispose();
  };

  async function* subscribe<D, T extends { id: string }>(
    query: string,
    variables: Record<string, unknown>,
    pick: (data: D) => T,
    opts: SubscribeOptions = {},
  ): AsyncGenerator<T, void, undefined> {
    let after = opts.after;
    let attempt = 0;
    while (!opts.signal?.aborted) {
      const iterator = connect().iterate<D>({ query, variables: { ...variables, ...(after ? { after } : {}) } });
      const onAbort = () => void iterator.return?.();
      opts.signal?.addEventListener('abort', onAbort);
      try {
        for await (const result of iterator) {
          if (result.errors?.length) throw result.errors;
          const item = pick(result.data as D);
          after = item.id;
          attempt = 0;
          yield item;
        }
        if (opts.signal?.aborted) return;
      } catch (err) {
        const { error, fatal } = toError(err);
        if (fatal) throw error;
        attempt++;
        const delay = Math.min(cfg.maxRetryDelayMs, cfg.retryDelayMs * 2 ** attempt);
        const wait = Math.round(Math.random() * delay);
        cfg.logger?.warn?.('subscription interrupted, reconnecting', { attempt, delayMs: wait, after, reason: error.message });
        await reset();
        await sleep(wait, opts.signal);
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
    }
  }

  return { subscribe, close: reset };
}
