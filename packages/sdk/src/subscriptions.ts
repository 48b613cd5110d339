// graphql-ws/client, not graphql-ws: the package root also loads its server part, which imports `graphql`.
import { type Client, CloseCode, createClient } from 'graphql-ws/client';
import { CrmAuthError, type CrmError, CrmGraphQLError, CrmSubscriptionError, type GraphQLErrorEntry } from './errors.js';
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
  /**
   * Failed connection attempts in a row after which a subscription gives up with a
   * {@link CrmSubscriptionError} (code `RECONNECT_FAILED`). The count resets once connected.
   * @default 8
   */
  maxReconnects?: number;
};

/**
 * A subscription's state: `connecting` (first attempt), `connected`, `reconnecting` (after a
 * drop, waiting or trying again; `attempt` counts the failures in a row), `failed` (gave up or a
 * fatal error; the iterator throws `error`), `closed` (ended by the caller).
 */
export type SubscriptionState =
  | { status: 'connecting' }
  | { status: 'connected' }
  | { status: 'reconnecting'; attempt: number; delayMs: number; error: CrmError }
  | { status: 'failed'; error: CrmError }
  | { status: 'closed' };

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
  /** Called on every state change (to show "reconnecting…" or "live updates stopped"). */
  onStateChange?: (state: SubscriptionState) => void;
};

type Config = {
  url: string;
  getToken: () => string | Promise<string>;
  staffId?: string;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  logger?: CrmLogger;
} & CrmSubscriptionOptions;

/** Close codes after which reconnecting cannot help (graphql-ws's own fatal codes, by name). */
const FATAL_CLOSE = new Set<number>([
  CloseCode.BadRequest,
  CloseCode.Unauthorized,
  CloseCode.Forbidden,
  CloseCode.SubprotocolNotAcceptable,
  CloseCode.SubscriberAlreadyExists,
  CloseCode.TooManyInitialisationRequests,
  CloseCode.InternalServerError,
]);
const closeName = (code: number): string | undefined => (CloseCode as unknown as Record<number, string>)[code];

function toError(err: unknown, wsUrl: string): { error: CrmError; fatal: boolean } {
  if (Array.isArray(err)) {
    const errors = err as GraphQLErrorEntry[];
    const code = String(errors[0]?.extensions?.code ?? 'GRAPHQL_ERROR');
    const message = errors[0]?.message ?? 'Subscription failed';
    if (code === 'FORBIDDEN' || code === 'UNAUTHENTICATED') return { error: new CrmAuthError(message, { code }), fatal: true };
    return { error: new CrmGraphQLError(message, { code, errors }), fatal: true };
  }
  const close = err as { code?: number; reason?: string } | null;
  if (close && typeof close.code === 'number') {
    const closeCode = close.code;
    const closeReason = closeName(closeCode) ?? (close.reason || undefined);
    const what = `${closeCode}${closeReason ? ` ${closeReason}` : ''}${close.reason && close.reason !== closeReason ? `: ${close.reason}` : ''}`;
    if (closeCode === CloseCode.Forbidden || closeCode === CloseCode.Unauthorized) {
      return {
        error: new CrmAuthError(close.reason || 'Connection refused: bad credentials', { code: 'UNAUTHENTICATED', closeCode, closeReason }),
        fatal: true,
      };
    }
    return {
      error: new CrmSubscriptionError(`Connection closed (${what})`, { code: 'CONNECTION_CLOSED', closeCode, closeReason }),
      fatal: FATAL_CLOSE.has(closeCode),
    };
  }
  // The socket failed before a close (e.g. connection refused): ws gives an ErrorEvent with `.error`.
  const inner = (err as { error?: unknown })?.error ?? err;
  const causeCode = (inner as { code?: unknown })?.code;
  return {
    error: new CrmSubscriptionError(
      `Cannot connect to ${wsUrl}: ${typeof causeCode === 'string' ? causeCode : ((inner as Error)?.message ?? inner)}`,
      {
        code: 'NETWORK_ERROR',
        url: wsUrl,
        cause: inner,
        ...(typeof causeCode === 'string' ? { causeCode } : {}),
      },
    ),
    fatal: false,
  };
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
 * Authentication and authorisation failures end the iterator with a {@link CrmAuthError}; after
 * `maxReconnects` failed attempts in a row it ends with a {@link CrmSubscriptionError}
 * (`RECONNECT_FAILED`); `onStateChange` reports every step.
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
    const maxReconnects = cfg.maxReconnects ?? 8;
    let after = opts.after;
    let failures = 0;
    let last = '';
    const state = (s: SubscriptionState) => {
      if (s.status === last && s.status !== 'reconnecting') return;
      last = s.status;
      opts.onStateChange?.(s);
    };
    state({ status: 'connecting' });
    try {
      while (!opts.signal?.aborted) {
        const c = connect();
        // A connection acknowledged by the server resets the failure count.
        const offConnected = c.on('connected', () => {
          failures = 0;
          state({ status: 'connected' });
        });
        const iterator = c.iterate<D>({ query, variables: { ...variables, ...(after ? { after } : {}) } });
        const onAbort = () => void iterator.return?.();
        opts.signal?.addEventListener('abort', onAbort);
        try {
          for await (const result of iterator) {
            if (result.errors?.length) throw result.errors;
            const item = pick(result.data as D);
            after = item.id;
            yield item;
          }
          if (opts.signal?.aborted) return;
        } catch (err) {
          const { error, fatal } = toError(err, wsUrl);
          if (fatal) {
            state({ status: 'failed', error });
            throw error;
          }
          failures++;
          if (failures > maxReconnects) {
            const gaveUp = new CrmSubscriptionError(`Subscription gave up after ${failures} failed connection attempts: ${error.message}`, {
              code: 'RECONNECT_FAILED',
              closeCode: error.closeCode,
              closeReason: error.closeReason,
              causeCode: (error as CrmSubscriptionError).causeCode,
              url: error.url,
              attempts: failures,
              cause: error,
            });
            state({ status: 'failed', error: gaveUp });
            throw gaveUp;
          }
          const delay = Math.min(cfg.maxRetryDelayMs, cfg.retryDelayMs * 2 ** failures);
          const wait = Math.round(Math.random() * delay);
          state({ status: 'reconnecting', attempt: failures, delayMs: wait, error });
          cfg.logger?.warn?.('subscription interrupted, reconnecting', { attempt: failures, delayMs: wait, after, reason: error.message });
          await reset();
          await sleep(wait, opts.signal);
        } finally {
          offConnected();
          opts.signal?.removeEventListener('abort', onAbort);
        }
      }
    } finally {
      if (last !== 'failed') state({ status: 'closed' });
    }
  }

  return { subscribe, close: reset };
}
