import type { Services } from './context.ts';
import { RateLimitedError } from './errors.ts';

/**
 * In-memory token buckets (one process). Each bucket holds up to `limit` tokens and refills at
 * `limit` per `windowMs`, so a client may burst up to `limit` and then sustain `limit` per window.
 * Several instances each keep their own buckets (a shared store would come with REDIS_URL).
 */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one token from `bucket`; returns 0 when allowed, else the seconds to wait. */
  take(bucket: string, limit: number, windowMs = 60_000): number {
    const now = this.now();
    const ratePerMs = limit / windowMs;
    const b = this.buckets.get(bucket) ?? { tokens: limit, at: now };
    b.tokens = Math.min(limit, b.tokens + (now - b.at) * ratePerMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.buckets.set(bucket, b);
      if (this.buckets.size > 50_000) this.prune(now, windowMs);
      return 0;
    }
    this.buckets.set(bucket, b);
    return Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000));
  }

  /** Drops buckets idle for a whole window (they would be full again). */
  private prune(now: number, windowMs: number) {
    for (const [k, b] of this.buckets) if (now - b.at >= windowMs) this.buckets.delete(k);
  }
}

const limiters = new WeakMap<Services, RateLimiter>();

/** The app's limiter (one per buildApp). */
export function limiterFor(services: Services): RateLimiter {
  let l = limiters.get(services);
  if (!l) {
    l = new RateLimiter();
    limiters.set(services, l);
  }
  return l;
}

/**
 * Storefront ingestion limit: per API key (RATE_LIMIT_PER_KEY a minute) and per client IP
 * (RATE_LIMIT_PER_IP a minute). Throws RateLimitedError (HTTP 429 with Retry-After).
 */
export function enforceIngestionLimit(services: Services, keyId: string, clientIp: string | null) {
  const l = limiterFor(services);
  const c = services.config;
  const waitKey = l.take(`key:${keyId}`, c.rateLimitPerKey);
  if (waitKey) throw new RateLimitedError(waitKey, 'Too many requests for this API key; retry later');
  const waitIp = l.take(`ip:${keyId}:${clientIp ?? 'unknown'}`, c.rateLimitPerIp);
  if (waitIp) throw new RateLimitedError(waitIp, 'Too many requests from this address; retry later');
}
