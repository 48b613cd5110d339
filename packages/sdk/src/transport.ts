import { CrmAuthError, CrmError, CrmGraphQLError, CrmNetworkError, CrmRateLimitError, type GraphQLErrorEntry } from './errors.js';
import { idempotentInputTypes } from './generated/idempotency.js';

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

export type TransportConfig = {
  url: string;
  getToken: () => string | Promise<string>;
  customerToken?: string;
  staffId?: string;
  headers?: Record<string, string>;
  fetch: typeof fetch;
  retries: number;
  timeoutMs: number;
  deadlineMs: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  logger?: CrmLogger;
};

type OperationInfo = { kind: 'query' | 'mutation' | 'subscription'; name?: string; idempotentVariables: string[] };

const idempotentTypes = new Set(idempotentInputTypes);
const analysed = new Map<string, OperationInfo>();

/** What kind of operation a document holds, its name, and which variables take an idempotent input type. */
export function analyseOperation(query: string): OperationInfo {
  const cached = analysed.get(query);
  if (cached) return cached;
  const text = query.replace(/#[^\n\r]*/g, '');
  const m = /(?:^|[\s}])(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?\s*(?:\(([^)]*)\))?\s*[{@]/.exec(text);
  const shorthand = text.trimStart().startsWith('{');
  const info: OperationInfo = {
    kind: shorthand ? 'query' : ((m?.[1] as OperationInfo['kind']) ?? 'query'),
    name: shorthand ? undefined : m?.[2],
    idempotentVariables: [],
  };
  for (const v of (shorthand ? '' : (m?.[3] ?? '')).matchAll(/\$([_A-Za-z][_0-9A-Za-z]*)\s*:\s*([_A-Za-z][_0-9A-Za-z]*)/g)) {
    if (idempotentTypes.has(v[2]!)) info.idempotentVariables.push(v[1]!);
  }
  if (analysed.size > 500) analysed.clear();
  analysed.set(query, info);
  return info;
}

let counter = 0;
const randomHex = (bytes: number) => {
  const c = globalThis.crypto;
  if (c?.getRandomValues) return Array.from(c.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
  return Array.from({ length: bytes * 2 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
};
const newRequestId = () => `sdk-${Date.now().toString(36)}-${(counter++).toString(36)}-${randomHex(3)}`;

/**
 * Where the SDK keeps the request id on the objects a call returns (non-enumerable, so it never
 * shows in JSON or equality checks); {@link unwrap} puts it on the errors it throws.
 */
export const REQUEST_ID: unique symbol = Symbol.for('crm.requestId');

/** The request id of the call that returned `value` (a mutation result, a query's data), if any. */
export const requestIdOf = (value: unknown): string | undefined =>
  value && typeof value === 'object' ? (value as { [REQUEST_ID]?: string })[REQUEST_ID] : undefined;

function tagRequestId(data: unknown, requestId: string) {
  if (!data || typeof data !== 'object') return;
  for (const v of Object.values(data)) {
    if (v && typeof v === 'object' && !Object.isFrozen(v)) Object.defineProperty(v, REQUEST_ID, { value: requestId, enumerable: false });
  }
}

/** The system error code in a cause chain (undici wraps it: `TypeError: fetch failed` → `cause.code`). */
function causeCodeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$|^UND_ERR/.test(code)) return code;
    const nested = (e as { errors?: unknown[] }).errors; // AggregateError (happy eyeballs: IPv4 and IPv6 both refused)
    if (Array.isArray(nested)) for (const n of nested) if (causeCodeOf(n)) return causeCodeOf(n);
  }
  return undefined;
}

/** A random idempotency key (UUID v4 where `crypto.randomUUID` exists, else 128 random bits in hex). */
export const newIdempotencyKey = (): string => globalThis.crypto?.randomUUID?.() ?? randomHex(16);

/**
 * Sets `idempotencyKey` on every input of an idempotent type that has none (on a copy); returns
 * the variables and whether every such input now carries a key (then retries are safe).
 */
function withIdempotencyKeys(info: OperationInfo, variables: Record<string, unknown> | undefined) {
  if (info.kind !== 'mutation' || info.idempotentVariables.length === 0) return { variables, keyed: false };
  const out: Record<string, unknown> = { ...variables };
  let keyed = true;
  for (const name of info.idempotentVariables) {
    const input = out[name];
    if (input && typeof input === 'object' && !Array.isArray(input)) {
      const i = input as Record<string, unknown>;
      if (i.idempotencyKey == null) out[name] = { ...i, idempotencyKey: newIdempotencyKey() };
    } else keyed = false;
  }
  return { variables: out, keyed };
}

/** Parses Retry-After (seconds or an HTTP date) to milliseconds. */
function retryAfterMs(value: string | null): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const s = Number(value);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

type Attempt<T> = { ok: true; data: T } | { ok: false; error: CrmError; retryable: boolean; retryAfterMs?: number };

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
  async function attempt<T>(
    body: string,
    requestId: string,
    info: OperationInfo,
    opts: CrmRequestOptions,
    timeoutMs: number,
  ): Promise<Attempt<T>> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const started = Date.now();
    try {
      let key: string;
      try {
        key = await cfg.getToken();
      } catch (cause) {
        return {
          ok: false,
          retryable: false,
          error: new CrmAuthError('getToken() failed', { code: 'GET_TOKEN_FAILED', requestId, url, cause }),
        };
      }
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...cfg.headers,
        ...opts.headers,
        authorization: `Bearer ${key}`,
        'x-request-id': requestId,
      };
      if (cfg.customerToken) headers['x-customer-token'] = cfg.customerToken;
      if (cfg.staffId) headers['x-crm-staff-id'] = cfg.staffId;
      let res: Response;
      let text: string;
      try {
        res = await cfg.fetch(url, { method: 'POST', headers, body, signal: controller.signal });
        text = await res.text();
      } catch (cause) {
        if (opts.signal?.aborted) {
          return { ok: false, retryable: false, error: new CrmNetworkError('Request aborted', { code: 'ABORTED', requestId, url, cause }) };
        }
        if (timedOut) {
          const error = new CrmNetworkError(`POST ${url} timed out after ${timeoutMs} ms`, { code: 'TIMEOUT', requestId, url, cause });
          return { ok: false, retryable: true, error };
        }
        const causeCode = causeCodeOf(cause);
        const detail = causeCode ?? ((cause as Error)?.message || String(cause));
        const error = new CrmNetworkError(`Network error: POST ${url} failed (${detail})`, {
          code: 'NETWORK_ERROR',
          requestId,
          url,
          cause,
          causeCode,
        });
        return { ok: false, retryable: true, error };
      }
      const status = res.status;
      // The server echoes our id (or assigns one): quote it when reporting a problem.
      const rid = res.headers.get('x-request-id') || requestId;
      cfg.logger?.debug?.('crm: response', { operation: info.name, status, durationMs: Date.now() - started, requestId: rid });
      const wait = retryAfterMs(res.headers.get('retry-after'));
      let parsed: { data?: T | null; errors?: GraphQLErrorEntry[] } | undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {}
      const errors = parsed?.errors?.length ? parsed.errors : undefined;
      const first = errors?.[0];
      const code = String(first?.extensions?.code ?? '');
      const base = { status, requestId: rid, url };
      if (status === 429 || code === 'RATE_LIMITED') {
        const error = new CrmRateLimitError(first?.message ?? 'Too many requests', { ...base, retryAfterMs: wait });
        return { ok: false, retryable: true, error, retryAfterMs: wait };
      }
      if (status === 503 || code === 'UNAVAILABLE') {
        const error = new CrmNetworkError(first?.message ?? `Service unavailable (HTTP ${status})`, {
          code: 'SERVICE_UNAVAILABLE',
          ...base,
          retryAfterMs: wait,
        });
        return { ok: false, retryable: true, error, retryAfterMs: wait };
      }
      if (status === 401 || status === 403 || code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') {
        const error = new CrmAuthError(first?.message ?? `HTTP ${status}`, {
          code: code || (status === 403 ? 'FORBIDDEN' : 'UNAUTHENTICATED'),
          ...base,
        });
        return { ok: false, retryable: false, error };
      }
      if (errors) {
        const error = new CrmGraphQLError(first?.message ?? 'GraphQL error', { code: code || 'GRAPHQL_ERROR', ...base, errors });
        return { ok: false, retryable: false, error };
      }
      if (!parsed || parsed.data == null) {
        const error = new CrmNetworkError(`Unexpected response from POST ${url} (HTTP ${status})`, { code: 'BAD_RESPONSE', ...base });
        return { ok: false, retryable: false, error };
      }
      tagRequestId(parsed.data, rid);
      return { ok: true, data: parsed.data };
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
  async function execute<T>(query: string, rawVariables: Record<string, unknown> | undefined, opts: CrmRequestOptions = {}): Promise<T> {
    const info = analyseOperation(query);
    if (info.kind === 'subscription') {
      throw new CrmError('Subscriptions need a graphql-ws client (ws://…/graphql); request() is for queries and mutations', {
        code: 'UNSUPPORTED_OPERATION',
      });
    }
    const { variables, keyed } = withIdempotencyKeys(info, rawVariables);
    const retries = info.kind === 'query' || keyed ? Math.max(0, opts.retries ?? cfg.retries) : 0;
    const body = JSON.stringify({ query, variables, ...(info.name ? { operationName: info.name } : {}) });
    const requestId = newRequestId();
    const deadlineMs = opts.deadlineMs ?? cfg.deadlineMs;
    const deadline = Date.now() + deadlineMs;
    const perAttempt = opts.timeoutMs ?? cfg.timeoutMs;
    for (let n = 0; ; n++) {
      const left = deadline - Date.now();
      const r = await attempt<T>(body, requestId, info, opts, Math.max(1, Math.min(perAttempt, left)));
      if (r.ok) return r.data;
      if (r.error.code === 'TIMEOUT' && perAttempt > left) {
        throw new CrmNetworkError(`POST ${url} gave up after the ${deadlineMs} ms deadline (${n + 1} attempt${n ? 's' : ''})`, {
          code: 'DEADLINE_EXCEEDED',
          requestId: r.error.requestId,
          url,
          cause: r.error,
        });
      }
      if (!r.retryable || n >= retries) throw r.error;
      // Full jitter: a random delay up to the exponential cap; the server's Retry-After wins.
      const delay = r.retryAfterMs ?? Math.random() * Math.min(cfg.maxRetryDelayMs, cfg.retryDelayMs * 2 ** n);
      if (delay > cfg.maxRetryDelayMs || Date.now() + delay >= deadline) throw r.error;
      cfg.logger?.warn?.('crm: retrying', {
        operation: info.name,
        attempt: n + 1,
        delayMs: Math.round(delay),
        code: r.error.code,
        requestId,
      });
      try {
        await sleep(delay, opts.signal);
      } catch (cause) {
        throw new CrmNetworkError('Request aborted', { code: 'ABORTED', requestId, url, cause });
      }
    }
  }

  return { execute };
}
