import { complexityFromQuery } from '@pothos/plugin-complexity';
import type { Plugin } from 'graphql-yoga';
import { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from './config.ts';
import { type Context, clientIpOf, type Services } from './context.ts';
import { RateLimitedError } from './errors.ts';
import type { Logger } from './logger.ts';

/**
 * Request and cost limits, on rate-limiter-flexible. With REDIS_URL the counters live in Redis
 * (shared by every instance: N instances do not allow N times the limit), with an in-memory
 * insurance limiter that takes over while Redis is unreachable; without it, in memory.
 *
 * - storefront ingestion (captureLead, trackInteraction): RATE_LIMIT_PER_KEY a minute per API key
 *   and RATE_LIMIT_PER_IP a minute per client address, counted across all shops;
 * - storefront behaviour events (trackEvents, POST /events): BEHAVIOUR_EVENTS_PER_KEY events a minute
 *   per publishable key and BEHAVIOUR_EVENTS_PER_VISITOR events a minute per visitor id (a batch is
 *   charged its number of events);
 * - requests without an API key: RATE_LIMIT_ANONYMOUS_PER_IP a minute per client address,
 *   checked before the document is parsed;
 * - a query-cost budget per API key, like Shopify's leaky bucket: a bucket of COST_BUCKET_SIZE
 *   points that refills at COST_RESTORE_RATE points a second. Each operation is charged its
 *   complexity (plugin-complexity's calculation, the same the complexity limit uses) before it
 *   runs. Built from two limiters (library's "bursty" pattern): a per-second window of
 *   COST_RESTORE_RATE points, and a burst reserve of COST_BUCKET_SIZE points refilled over
 *   COST_BUCKET_SIZE / COST_RESTORE_RATE seconds.
 * Every keyed response carries `extensions.cost` and RateLimit-* headers; an exhausted budget is
 * RATE_LIMITED (HTTP 429, Retry-After).
 */
export type CostReport = {
  requestedQueryCost: number;
  actualQueryCost: number;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
};

export type Limits = {
  /** Storefront ingestion: throws RateLimitedError. */
  ingestion(keyId: string, clientIp: string | null): Promise<void>;
  /** Behaviour events: charges `perVisitor` counts to each visitor and their sum to the key; throws RateLimitedError. */
  events(keyId: string, perVisitor: ReadonlyMap<string, number>): Promise<void>;
  /** Requests without a key: seconds to wait, 0 when allowed. */
  anonymous(clientIp: string | null): Promise<number>;
  /** Charges `cost` to the key; throws RateLimitedError when the budget is exhausted. */
  charge(keyId: string, cost: number): Promise<CostReport>;
  close(): Promise<void>;
};

export function createLimits(config: Config, logger: Logger): Limits {
  const l = config.limits;
  let redis: Redis | null = null;
  if (config.redisUrl) {
    redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
    redis.on('error', (err) => logger.warn('rate-limit redis error', { error: String(err.message) }));
  }
  const make = (name: string, points: number, duration: number): RateLimiterAbstract => {
    const keyPrefix = `${l.keyPrefix}:${name}`;
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    return redis ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration, insuranceLimiter: memory }) : memory;
  };
  const perKey = make('key', config.rateLimitPerKey, 60);
  const perIp = make('ip', config.rateLimitPerIp, 60);
  const anon = make('anon', l.anonymousPerIp, 60);
  const eventsPerKey = make('events-key', config.behaviour.eventsPerKey, 60);
  const eventsPerVisitor = make('events-visitor', config.behaviour.eventsPerVisitor, 60);
  const restore = l.costRestoreRate;
  const bucket = l.costBucketSize;
  const sustained = make('cost', restore, 1);
  const burst = make('cost-burst', bucket, Math.max(1, Math.ceil(bucket / restore)));

  const wait = (r: unknown) => {
    if (r instanceof RateLimiterRes) return Math.max(1, Math.ceil(r.msBeforeNext / 1000));
    throw r;
  };
  const available = (a: RateLimiterRes | null, b: RateLimiterRes | null) =>
    Math.max(0, a ? a.remainingPoints : restore) + Math.max(0, b ? b.remainingPoints : bucket);

  return {
    async ingestion(keyId, clientIp) {
      await perKey.consume(keyId).catch((r) => {
        throw new RateLimitedError(wait(r), 'Too many requests for this API key; retry later');
      });
      await perIp.consume(clientIp ?? 'unknown').catch((r) => {
        throw new RateLimitedError(wait(r), 'Too many requests from this address; retry later');
      });
    },
    async events(keyId, perVisitor) {
      let total = 0;
      for (const n of perVisitor.values()) total += n;
      await eventsPerKey.consume(keyId, total).catch((r) => {
        throw new RateLimitedError(wait(r), 'Too many behaviour events for this API key; retry later');
      });
      for (const [visitor, n] of perVisitor) {
        await eventsPerVisitor.consume(`${keyId}:${visitor}`, n).catch((r) => {
          throw new RateLimitedError(wait(r), 'Too many behaviour events from this visitor; retry later');
        });
      }
    },
    async anonymous(clientIp) {
      return anon.consume(clientIp ?? 'unknown').then(
        () => 0,
        (r) => wait(r),
      );
    },
    async charge(keyId, cost) {
      const report = (left: number): CostReport => ({
        requestedQueryCost: cost,
        actualQueryCost: cost,
        throttleStatus: { maximumAvailable: bucket + restore, currentlyAvailable: left, restoreRate: restore },
      });
      if (cost <= 0) return report(available(await sustained.get(keyId), await burst.get(keyId)));
      try {
        const s = await sustained.consume(keyId, cost);
        return report(available(s, await burst.get(keyId)));
      } catch (rej) {
        if (!(rej instanceof RateLimiterRes)) throw rej;
        try {
          const b = await burst.consume(keyId, cost);
          return report(available(rej, b));
        } catch (brej) {
          // The whole cost must fit into the burst reserve: waiting for the next second is not enough.
          const retry =
            brej instanceof RateLimiterRes
              ? Math.min(rej.msBeforeNext + 1000 * Math.ceil((cost - restore) / restore), brej.msBeforeNext)
              : 1000;
          throw Object.assign(
            new RateLimitedError(Math.max(1, Math.ceil(retry / 1000)), 'Query cost budget exhausted for this API key; retry later'),
            {
              cost: report(0),
            },
          );
        }
      }
    },
    async close() {
      redis?.disconnect();
    },
  };
}

const limitsByServices = new WeakMap<Services, Limits>();
export function registerLimits(services: Services, limits: Limits) {
  limitsByServices.set(services, limits);
}
function limitsOf(services: Services): Limits {
  const l = limitsByServices.get(services);
  if (!l) throw new Error('Limits not registered for these services');
  return l;
}

/** Storefront ingestion limit (per key, and per client IP across shops). */
export function enforceIngestionLimit(services: Services, keyId: string, clientIp: string | null): Promise<void> {
  return limitsOf(services).ingestion(keyId, clientIp);
}

/** Behaviour event limits (per key, and per visitor of that key), in events per minute. */
export function enforceEventLimits(services: Services, keyId: string, perVisitor: ReadonlyMap<string, number>): Promise<void> {
  return limitsOf(services).events(keyId, perVisitor);
}

const hasKey = (h: Headers) => Boolean(h.get('authorization') || h.get('x-api-key'));

/** The budget headers of each keyed response (and 429s), set by onResponse. */
const headersOf = new WeakMap<Request, Record<string, string>>();
const rateHeaders = (c: CostReport, resetSeconds: number) => ({
  'RateLimit-Limit': String(c.throttleStatus.maximumAvailable),
  'RateLimit-Remaining': String(c.throttleStatus.currentlyAvailable),
  'RateLimit-Reset': String(resetSeconds),
});

/** Anonymous limit before parsing; per-key cost budget before execution; reports on every response. */
export function limitsPlugin(services: Services, limits: Limits, graphqlEndpoint: string): Plugin<Context> {
  const { config } = services;
  return {
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (url.pathname !== graphqlEndpoint || request.method === 'OPTIONS' || hasKey(request.headers)) return;
      const socket = (serverContext as { req?: { socket?: { remoteAddress?: string } } } | undefined)?.req?.socket;
      const ip = clientIpOf(config.trustProxy, request.headers.get('x-forwarded-for'), socket?.remoteAddress);
      const retry = await limits.anonymous(ip);
      if (!retry) return;
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({
            errors: [
              {
                message: 'Too many requests without an API key from this address; retry later',
                extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retry },
              },
            ],
          }),
          { status: 429, headers: { 'content-type': 'application/json', 'retry-after': String(retry) } },
        ),
      );
    },
    async onExecute({ args }) {
      const ctx = args.contextValue as Context & { request?: Request };
      if (ctx.viewer.kind === 'anonymous' || !services.config.limits.costBudget) return;
      const { complexity } = complexityFromQuery(args.document, {
        schema: args.schema,
        ctx,
        variables: (args.variableValues ?? {}) as Record<string, unknown>,
      });
      let cost: CostReport;
      try {
        cost = await limits.charge(ctx.viewer.keyId, complexity);
      } catch (err) {
        const c = (err as { cost?: CostReport }).cost;
        if (c && ctx.request && err instanceof RateLimitedError) headersOf.set(ctx.request, rateHeaders(c, err.retryAfterSeconds));
        throw err;
      }
      if (ctx.request) headersOf.set(ctx.request, rateHeaders(cost, 1));
      return {
        onExecuteDone({ result, setResult }) {
          if (!result || Symbol.asyncIterator in (result as object)) return;
          const r = result as { extensions?: Record<string, unknown> };
          setResult({ ...(result as object), extensions: { ...r.extensions, cost } } as never);
        },
      };
    },
    onResponse({ request, response }) {
      const h = headersOf.get(request);
      if (h) for (const [k, v] of Object.entries(h)) response.headers.set(k, v);
    },
  };
}
