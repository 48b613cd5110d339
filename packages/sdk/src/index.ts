import { CrmAuthError, CrmError, CrmGraphQLError, CrmNetworkError, CrmRateLimitError } from './errors.js';

export { CrmAuthError, CrmError, CrmGraphQLError, CrmNetworkError, CrmRateLimitError };

export type CrmClientOptions = {
  /** The GraphQL endpoint, e.g. `https://crm.example.com/graphql`. */
  url: string;
  /** A publishable (`pk_…`, browser) or secret (`sk_…`, server) key. */
  apiKey: string;
  /** Customer token for the storefront's "my profile" area (publishable keys only). */
  customerToken?: string;
  /** Acting staff user id (secret keys only), recorded on changes. */
  staffId?: string;
  /** Custom fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Per-request timeout in milliseconds. @default 15000 */
  timeoutMs?: number;
};

export type CrmClient = {
  /** Runs any GraphQL operation; throws a CrmError subclass on failure. */
  request<T = unknown, V extends Record<string, unknown> = Record<string, unknown>>(query: string, variables?: V): Promise<T>;
};

let counter = 0;
const newRequestId = () => `sdk-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** Creates a client for the CRM API. The client is immutable and safe to share. */
export function createCrmClient(options: CrmClientOptions): CrmClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  if (!doFetch) throw new CrmError('No fetch implementation available: pass options.fetch', { code: 'CONFIGURATION' });
  const timeoutMs = options.timeoutMs ?? 15_000;

  async function request<T, V extends Record<string, unknown>>(query: string, variables?: V): Promise<T> {
    const requestId = newRequestId();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${options.apiKey}`,
      'x-request-id': requestId,
    };
    if (options.customerToken) headers['x-customer-token'] = options.customerToken;
    if (options.staffId) headers['x-crm-staff-id'] = options.staffId;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let res: Response;
    try {
      res = await doFetch(options.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }), signal: controller.signal });
    } catch (cause) {
      throw new CrmNetworkError(controller.signal.aborted ? `Request timed out after ${timeoutMs} ms` : 'Network error', {
        code: 'NETWORK_ERROR',
        requestId,
        cause,
      });
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 429) {
      const ra = Number(res.headers.get('retry-after'));
      throw new CrmRateLimitError('Rate limited', { status: 429, requestId, retryAfterMs: Number.isFinite(ra) ? ra * 1000 : undefined });
    }
    let body: { data?: T; errors?: CrmGraphQLError['errors'] };
    try {
      body = (await res.json()) as typeof body;
    } catch (cause) {
      throw new CrmNetworkError(`Unexpected response (HTTP ${res.status})`, { code: 'BAD_RESPONSE', status: res.status, requestId, cause });
    }
    if (body.errors?.length) {
      const first = body.errors[0];
      const code = String(first?.extensions?.code ?? 'GRAPHQL_ERROR');
      const msg = first?.message ?? 'GraphQL error';
      if (res.status === 401 || res.status === 403 || code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') {
        throw new CrmAuthError(msg, { code, status: res.status, requestId });
      }
      throw new CrmGraphQLError(msg, { code, status: res.status, requestId, errors: body.errors });
    }
    if (!res.ok || body.data === undefined) {
      throw new CrmError(`HTTP ${res.status}`, { code: 'HTTP_ERROR', status: res.status, requestId });
    }
    return body.data;
  }

  return Object.freeze({ request });
}
