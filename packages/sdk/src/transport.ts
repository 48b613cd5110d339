import {
  CrmAuthError,
  type CrmError,
  type CrmErrorOptions,
  CrmGraphQLError,
  CrmNetworkError,
  CrmRateLimitError,
  type GraphQLErrorEntry,
} from './errors.js';

/** Receives the SDK's diagnostics. `console` fits. Never given keys, tokens or variables. */
export type CrmLogger = {
  /** Every HTTP attempt: operation, status, duration, request id. */
  debug?(message: string, fields: Record<string, unknown>): void;
  /** Retries (with the reason and the delay). */
  warn?(message: string, fields: Record<string, unknown>): void;
};

/** Per-call options, the last argument of every client method. */
export type CrmRequestOptions = {
  /** Aborts the call (rejects with a {@link CrmNetworkError}, code `ABORTED`; not retried). */
  signal?: AbortSignal;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
  /**
   * Overrides the client's `retries` for this call.
   * @default the client's `retries`
   */
  retries?: number;
  /**
   * Overrides the client's `timeoutMs` (per attempt) for this call.
   * @default the client's `timeoutMs`
   */
  timeoutMs?: number;
  /**
   * Overrides the client's `deadlineMs` (all attempts and waits together) for this call.
   * @default the client's `deadlineMs`
   */
  deadlineMs?: number;
};

/** The transport's settings; `headers` include `x-customer-token` / `x-crm-staff-id` when the client has them. */
export type TransportConfig = {
  url: string;
  getToken: () => string | Promise<string>;
  headers?: Record<string, string>;
  fetch: typeof fetch;
  retries: number;
  timeoutMs: number;
  deadlineMs: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  logger?: CrmLogger;
};

/** What the transport needs to know about an operation (generated documents carry it in `__meta__`). */
export type OperationInfo = { kind: 'query' | 'mutation' | 'subscription'; name?: string; idempotentVariables?: string[] };

// getRandomValues exists in every supported runtime (browsers, also on plain http; Node 20+).
const randomHex = (bytes: number) =>
  Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
const newRequestId = () => `sdk-${randomHex(12)}`;

/**
 * Where the SDK keeps the request id on the objects a call returns (non-enumerable, so it never
 * shows in JSON or equality checks); {@link unwrap} puts it on the errors it throws.
 */
export const REQUEST_ID: unique symbol = Symbol.for('crm.requestId');

/** The request id of the call that returned `value` (a mutation result, a query's data), if any. */
export const requestIdOf = (value: unknown): string | undefined => (value as { [REQUEST_ID]?: string } | null | undefined)?.[REQUEST_ID];

/** Tags every object at the top of a response's `data` (the mutation results) with the request id. */
function tagRequestId(data: object, requestId: string) {
  for (const v of Object.values(data)) if (v && typeof v === 'object') Object.defineProperty(v, REQUEST_ID, { value: requestId });
}

/** The system error code in a cause chain (undici wraps it: `TypeError: fetch failed` → `cause.code`, e.g. ECONNREFUSED). */
function causeCodeOf(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string') return e.code;
  }
}

/** A random idempotency key (UUID v4 where `crypto.randomUUID` exists, else 128 random bits in hex). */
export const newIdempotencyKey = (): string => globalThis.crypto?.randomUUID?.() ?? randomHex(16);

/**
 * Sets `idempotencyKey` on every input of an idempotent type that has none (on a copy); returns
 * the variables and whether every such input now carries a key (then retries are safe).
 */
function withIdempotencyKeys(info: OperationInfo, variables: Record<string, unknown> | undefined) {
  const names = (info.kind === 'mutation' && info.idempotentVariables) || [];
  const out: Record<string, unknown> = { ...variables };
  for (const name of names) {
    const input = out[name] as Record<string, unknown> | null | undefined;
    if (input && typeof input === 'object') out[name] = { ...input, idempotencyKey: input.idempotencyKey ?? newIdempotencyKey() };
  }
  return { variables: out, keyed: names.length > 0 && names.every((name) => out[name] && typeof out[name] === 'object') };
}

/** Parses Retry-After (seconds or an HTTP date) to milliseconds. */
function retryAfter(value: string | null): number | undefined {
  if (!value?.trim()) return undefined;
  const ms = Number.isNaN(+value) ? Date.parse(value) - Date.now() : +value * 1000;
  return Number.isNaN(ms) ? undefined : Math.max(0, ms);
}

/** Failures worth another attempt (for queries and idempotent mutations). */
const RETRYABLE = new Set(['NETWORK_ERROR', 'TIMEOUT', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE']);

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Executes GraphQL over HTTP with timeouts, a total deadline, typed errors and safe retries. */
export function createTransport(cfg: TransportConfig) {
  const url = cfg.url;
  /** One HTTP attempt: the data, or throws the CrmError for what went wrong. */
  async function attempt<T>(body: string, requestId: string, info: OperationInfo, opts: CrmRequestOptions, timeoutMs: number): Promise<T> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const started = Date.now();
    let base: CrmErrorOptions = { code: 'NETWORK_ERROR', requestId, url };
    try {
      const key = await cfg.getToken(); // the full client's getToken() throws CrmAuthError GET_TOKEN_FAILED itself
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...cfg.headers,
        ...opts.headers,
        authorization: `Bearer ${key}`,
        'x-request-id': requestId,
      };
      let res: Response;
      let text: string;
      try {
        res = await cfg.fetch(url, { method: 'POST', headers, body, signal: controller.signal });
        text = await res.text();
      } catch (cause) {
        if (opts.signal?.aborted) throw new CrmNetworkError('Request aborted', { ...base, code: 'ABORTED', cause });
        if (timedOut) throw new CrmNetworkError(`POST ${url} timed out after ${timeoutMs} ms`, { ...base, code: 'TIMEOUT', cause });
        const causeCode = causeCodeOf(cause);
        throw new CrmNetworkError(`Network error: POST ${url} failed (${causeCode ?? ((cause as Error)?.message || cause)})`, {
          ...base,
          cause,
          causeCode,
        });
      }
      const status = res.status;
      // The server echoes our id (or assigns one): quote it when reporting a problem.
      const rid = res.headers.get('x-request-id') || requestId;
      cfg.logger?.debug?.('crm: response', { operation: info.name, status, durationMs: Date.now() - started, requestId: rid });
      let parsed: { data?: T | null; errors?: GraphQLErrorEntry[] } | undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {}
      const errors = parsed?.errors?.length ? parsed.errors : undefined;
      const first = errors?.[0];
      const code = String(first?.extensions?.code ?? '');
      const message = first?.message ?? `HTTP ${status}`;
      base = { ...base, code, status, requestId: rid };
      const retryAfterMs = retryAfter(res.headers.get('retry-after'));
      if (status === 429 || code === 'RATE_LIMITED') throw new CrmRateLimitError(message, { ...base, code: 'RATE_LIMITED', retryAfterMs });
      if (status === 503 || code === 'UNAVAILABLE')
        throw new CrmNetworkError(message, { ...base, code: 'SERVICE_UNAVAILABLE', retryAfterMs });
      if (status === 401 || status === 403 || code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') {
        throw new CrmAuthError(message, { ...base, code: code || (status === 403 ? 'FORBIDDEN' : 'UNAUTHENTICATED') });
      }
      if (errors) throw new CrmGraphQLError(message, { ...base, code: code || 'GRAPHQL_ERROR', errors });
      if (parsed?.data == null)
        throw new CrmNetworkError(`Unexpected response from POST ${url} (HTTP ${status})`, { ...base, code: 'BAD_RESPONSE' });
      tagRequestId(parsed.data, rid);
      return parsed.data;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Runs one operation; retries network errors, timeouts, 429 and 503 for queries and idempotent
   * mutations, within the total deadline (each attempt's timeout is cut to the time left; a wait
   * that would pass the deadline is not started: the last error is thrown at once).
   */
  async function execute<T>(
    query: string,
    rawVariables: Record<string, unknown> | undefined,
    opts: CrmRequestOptions,
    info: OperationInfo,
  ): Promise<T> {
    const { variables, keyed } = withIdempotencyKeys(info, rawVariables);
    const retries = info.kind === 'query' || keyed ? (opts.retries ?? cfg.retries) : 0;
    const body = JSON.stringify({ query, variables, operationName: info.name });
    const requestId = newRequestId();
    const deadlineMs = opts.deadlineMs ?? cfg.deadlineMs;
    const deadline = Date.now() + deadlineMs;
    const perAttempt = opts.timeoutMs ?? cfg.timeoutMs;
    for (let n = 0; ; n++) {
      const left = deadline - Date.now();
      try {
        return await attempt<T>(body, requestId, info, opts, Math.max(1, Math.min(perAttempt, left)));
      } catch (e) {
        const error = e as CrmError & { retryAfterMs?: number };
        if (error.code === 'TIMEOUT' && perAttempt > left) {
          throw new CrmNetworkError(`POST ${url} gave up after the ${deadlineMs} ms deadline (${n + 1} attempts)`, {
            code: 'DEADLINE_EXCEEDED',
            requestId,
            url,
            cause: error,
          });
        }
        if (!RETRYABLE.has(error.code) || n >= retries) throw error;
        // Full jitter: a random delay up to the exponential cap; the server's Retry-After wins.
        const delay = error.retryAfterMs ?? Math.random() * Math.min(cfg.maxRetryDelayMs, cfg.retryDelayMs * 2 ** n);
        if (delay > cfg.maxRetryDelayMs || Date.now() + delay >= deadline) throw error;
        cfg.logger?.warn?.('crm: retrying', {
          operation: info.name,
          attempt: n + 1,
          delayMs: Math.round(delay),
          code: error.code,
          requestId,
        });
        try {
          await sleep(delay, opts.signal);
        } catch (cause) {
          throw new CrmNetworkError('Request aborted', { code: 'ABORTED', requestId, url, cause });
        }
      }
    }
  }

  return { execute };
}
