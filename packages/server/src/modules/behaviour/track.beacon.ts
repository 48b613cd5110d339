import type { Plugin } from 'graphql-yoga';
import { createContextInner, resolveViewer, type Services } from '../../context.ts';
import { isDatabaseUnavailable } from '../../edge/unavailable.ts';
import { AppError, RateLimitedError } from '../../errors.ts';
import { enforceEventLimits } from '../../rate-limit.ts';
import { countByVisitor, parseBatch, recordEvents } from './track.service.ts';

/**
 * POST /events: the behaviour-event beacon (docs/behaviour.md). `navigator.sendBeacon` cannot set
 * headers and sends a CORS "simple" request, so the body is text/plain JSON
 * `{ "key"?: "pk_...", "customerToken"?: "...", "events": [...] }` and the publishable key may also
 * come as `?key=pk_...`. The same checks as trackEvents run (limits, batch size, rate limits); the
 * origin is checked against the key's allowed origins as CORS does for GraphQL (a browser always
 * sends Origin on a POST). Secret keys are refused here (they would end up in URLs and logs).
 * Answers 204 (nothing to read: a beacon's response is dropped), or a JSON error with its status.
 */
export const BEACON_PATH = '/events';
export const BEACON_MAX_BYTES = 64_000;

const STATUS: Record<string, number> = { VALIDATION_FAILED: 400, UNAUTHENTICATED: 401, FORBIDDEN: 403, RATE_LIMITED: 429 };

function error(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

async function beacon(services: Services, request: Request, url: URL): Promise<Response> {
  if (request.method === 'OPTIONS') {
    return new Response(null, {
      status: 204,
      headers: {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'content-type',
      },
    });
  }
  if (request.method !== 'POST') return error(405, 'METHOD_NOT_ALLOWED', 'Use POST');
  const text = await request.text();
  if (Buffer.byteLength(text) > BEACON_MAX_BYTES) return error(413, 'VALIDATION_FAILED', `At most ${BEACON_MAX_BYTES} bytes`);
  let body: { key?: unknown; customerToken?: unknown; events?: unknown };
  try {
    body = JSON.parse(text);
    if (!body || typeof body !== 'object') throw new Error('not an object');
  } catch {
    return error(400, 'VALIDATION_FAILED', 'The body is a JSON object { key?, customerToken?, events: [...] }');
  }
  const apiKey = url.searchParams.get('key') ?? (typeof body.key === 'string' ? body.key : null);
  if (!apiKey) return error(401, 'UNAUTHENTICATED', 'Give the publishable key (?key= or "key" in the body)');
  try {
    const viewer = await resolveViewer(services, {
      apiKey,
      customerToken: typeof body.customerToken === 'string' ? body.customerToken : null,
    });
    if (viewer.kind !== 'publishable') return error(403, 'FORBIDDEN', 'The beacon takes a publishable key');
    const origin = request.headers.get('origin');
    if (origin && viewer.allowedOrigins?.length && !viewer.allowedOrigins.includes(origin)) {
      return error(403, 'FORBIDDEN', `The origin ${origin} is not allowed for this publishable key`);
    }
    const batch = parseBatch(body.events, ['events']);
    await enforceEventLimits(services, viewer.keyId, countByVisitor(batch));
    await recordEvents(createContextInner(services, viewer).shop, batch, { tokenCustomerId: viewer.customerId });
    return new Response(null, { status: 204, headers: { 'access-control-allow-origin': origin ?? '*' } });
  } catch (e) {
    if (e instanceof RateLimitedError) {
      return error(429, e.code, e.message, { 'retry-after': String(e.retryAfterSeconds) });
    }
    if (e instanceof AppError) return error(STATUS[e.code] ?? 400, e.code, e.message);
    if (isDatabaseUnavailable(e)) {
      return error(503, 'UNAVAILABLE', 'The database is temporarily unavailable; retry later', {
        'retry-after': String(services.config.unavailableRetryAfterSeconds),
      });
    }
    services.logger.error('behaviour beacon failed', { error: String((e as Error)?.message ?? e).slice(0, 500) });
    return error(500, 'INTERNAL', 'Unexpected error');
  }
}

export function behaviourBeaconPlugin(services: Services): Plugin {
  return {
    async onRequest({ url, request, endResponse }) {
      if (url.pathname === BEACON_PATH) endResponse(await beacon(services, request, url));
    },
  };
}
