import type { CORSOptions, Plugin } from 'graphql-yoga';
import type { Services, Viewer } from '../context.ts';
import { viewerOfRequest } from './request-viewer.ts';

/**
 * CORS, decided per API key, never with credentials (keys travel in headers, not cookies):
 * - a publishable key may be used from the origins listed on the key (ApiKey.allowedOrigins; an
 *   empty list allows any origin); from another origin the request is refused (403 FORBIDDEN)
 *   and gets no Access-Control-Allow-Origin;
 * - a secret key is refused from browsers (any request with an Origin header) unless
 *   SECRET_KEYS_FROM_BROWSER=1;
 * - requests without a key (and preflights, which carry no key) may come from any origin.
 */
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'x-api-key',
  'x-customer-token',
  'x-crm-staff-id',
  'x-request-id',
  'idempotency-key',
];
const EXPOSED_HEADERS = ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'x-request-id'];

const base = {
  methods: ['GET', 'POST', 'OPTIONS'],
  allowedHeaders: ALLOWED_HEADERS,
  exposedHeaders: EXPOSED_HEADERS,
  credentials: false,
  maxAge: 600,
};

/** Why a browser request from `origin` with this viewer is refused, or null. */
export function originProblem(services: Services, viewer: Viewer, origin: string): string | null {
  if (viewer.kind === 'secret' && !services.config.secretKeysFromBrowser) {
    return 'Secret keys cannot be used from a browser (the request has an Origin header); use a publishable key';
  }
  if (viewer.kind === 'publishable' && viewer.allowedOrigins?.length && !viewer.allowedOrigins.includes(origin)) {
    return `The origin ${origin} is not allowed for this publishable key`;
  }
  return null;
}

export function corsOptions(services: Services) {
  return async (request: Request): Promise<CORSOptions> => {
    const origin = request.headers.get('origin');
    if (!origin) return false;
    if (request.method === 'OPTIONS') return { ...base, origin: ['*'] };
    const viewer = await viewerOfRequest(services, request).catch(() => null);
    if (!viewer || viewer.kind === 'anonymous') return { ...base, origin: ['*'] };
    return originProblem(services, viewer, origin) ? false : { ...base, origin: ['*'] };
  };
}

/** Refuses browser requests the key does not allow before anything runs. */
export function corsGuardPlugin(services: Services): Plugin {
  return {
    async onRequest({ request, endResponse, fetchAPI }) {
      const origin = request.headers.get('origin');
      if (!origin || request.method === 'OPTIONS') return;
      const viewer = await viewerOfRequest(services, request).catch(() => null);
      const problem = viewer && originProblem(services, viewer, origin);
      if (!problem) return;
      endResponse(
        new fetchAPI.Response(JSON.stringify({ errors: [{ message: problem, extensions: { code: 'FORBIDDEN' } }] }), {
          status: 403,
          headers: { 'content-type': 'application/json' },
        }),
      );
    },
  };
}

/**
 * Standard security headers on every response. Hand-written (a fixed list): helmet targets
 * Express/Connect responses, while Yoga answers with fetch Responses. GraphiQL (development only)
 * needs scripts, so the strict CSP is left off HTML responses there.
 */
export function securityHeadersPlugin(services: Services): Plugin {
  const production = services.config.env === 'production';
  return {
    onResponse({ response }) {
      const h = response.headers;
      h.set('x-content-type-options', 'nosniff');
      h.set('referrer-policy', 'no-referrer');
      h.set('x-frame-options', 'DENY');
      h.set('cross-origin-opener-policy', 'same-origin');
      const html = h.get('content-type')?.includes('text/html');
      if (!html || production) h.set('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
      if (production) h.set('strict-transport-security', 'max-age=31536000; includeSubDomains');
      h.delete('x-powered-by');
    },
  };
}
