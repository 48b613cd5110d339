import { z } from 'zod';

const Env = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** PostgreSQL URL. Without it an embedded PGlite database is started in DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('./.data'),
  REDIS_URL: z.string().url().optional(),
  /** Secret used to sign customer tokens (publishable-key access to one customer's profile). */
  CUSTOMER_TOKEN_SECRET: z.string().min(16).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  MAX_QUERY_DEPTH: z.coerce.number().int().positive().default(10),
  MAX_QUERY_COMPLEXITY: z.coerce.number().int().positive().default(5000),
  /** Storefront ingestion (captureLead, trackInteraction): requests per minute per client IP / per API key. */
  RATE_LIMIT_PER_IP: z.coerce.number().int().positive().default(60),
  RATE_LIMIT_PER_KEY: z.coerce.number().int().positive().default(600),
  /** 1: take the client IP from the first hop of X-Forwarded-For (behind a trusted proxy). */
  TRUST_PROXY: z.enum(['0', '1', 'true', 'false']).default('0'),
  /** Webhook dispatcher: on/off, poll interval, attempts, first retry delay, per-attempt timeout. */
  WEBHOOKS: z.enum(['0', '1', 'true', 'false']).default('1'),
  WEBHOOK_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  WEBHOOK_BACKOFF_MS: z.coerce.number().int().positive().default(30_000),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** How often stale leads return to the pool and pool leads are auto-assigned (0 = never). */
  LEAD_POOL_INTERVAL_MS: z.coerce.number().int().min(0).default(300_000),
  /** Saved segments: how often changes from the outbox are applied (0 = never), and the full-refresh age. */
  SEGMENTS_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
  SEGMENTS_FULL_REFRESH_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** Real-time: the event bus's safety poll (ms) and whether it LISTENs on PostgreSQL (0: off, e.g. behind PgBouncer in transaction mode; Redis and the poll still ring). */
  EVENT_POLL_MS: z.coerce.number().int().min(50).default(2000),
  EVENT_PG_LISTEN: z.enum(['0', '1', 'true', 'false']).default('1'),
  /** Events (and finished webhook deliveries, idempotency keys) older than this are pruned (0 = keep forever). */
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  /** How often retention pruning runs (0 = never). */
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** How often FOLLOW_UP_DUE is checked for (0 = never). */
  FOLLOW_UP_DUE_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  /** How often new orders / interactions are folded into loyalty metrics and points (0 = never; reads refresh anyway). */
  LOYALTY_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  /** How long an API key lookup is reused, ms (0 = look up every request); a revoke clears it at once. */
  API_KEY_CACHE_MS: z.coerce.number().int().min(0).default(30_000),
  /** How long a list's totalCount is reused per shop and filter, ms (0 = count every request); any event of the shop clears it. */
  COUNT_CACHE_MS: z.coerce.number().int().min(0).default(5_000),
  /** Response cache for read queries, ms an answer is reused per shop, caller and request (0 = off, the default). */
  RESPONSE_CACHE_MS: z.coerce.number().int().min(0).default(0),
});

export type Config = {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  databaseUrl?: string;
  dataDir: string;
  redisUrl?: string;
  customerTokenSecret?: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  maxQueryDepth: number;
  maxQueryComplexity: number;
  /** Storefront ingestion limits, requests per minute. */
  rateLimitPerIp: number;
  rateLimitPerKey: number;
  trustProxy: boolean;
  webhooks: { enabled: boolean; intervalMs: number; maxAttempts: number; baseBackoffMs: number; timeoutMs: number };
  leadPoolIntervalMs: number;
  segments: { intervalMs: number; fullRefreshMs: number };
  events: { pollMs: number; pgListen: boolean; retentionDays: number; retentionIntervalMs: number };
  followUpDueIntervalMs: number;
  loyaltyIntervalMs: number;
  caches: { apiKeyMs: number; countMs: number; responseMs: number };
};

/** Parses the environment into one typed Config; throws with every problem listed. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    customerTokenSecret: e.CUSTOMER_TOKEN_SECRET,
    logLevel: e.LOG_LEVEL,
    maxQueryDepth: e.MAX_QUERY_DEPTH,
    maxQueryComplexity: e.MAX_QUERY_COMPLEXITY,
    rateLimitPerIp: e.RATE_LIMIT_PER_IP,
    rateLimitPerKey: e.RATE_LIMIT_PER_KEY,
    trustProxy: e.TRUST_PROXY === '1' || e.TRUST_PROXY === 'true',
    leadPoolIntervalMs: e.LEAD_POOL_INTERVAL_MS,
    segments: { intervalMs: e.SEGMENTS_INTERVAL_MS, fullRefreshMs: e.SEGMENTS_FULL_REFRESH_MS },
    events: {
      pollMs: e.EVENT_POLL_MS,
      pgListen: e.EVENT_PG_LISTEN === '1' || e.EVENT_PG_LISTEN === 'true',
      retentionDays: e.EVENT_RETENTION_DAYS,
      retentionIntervalMs: e.RETENTION_INTERVAL_MS,
    },
    followUpDueIntervalMs: e.FOLLOW_UP_DUE_INTERVAL_MS,
    loyaltyIntervalMs: e.LOYALTY_INTERVAL_MS,
    caches: { apiKeyMs: e.API_KEY_CACHE_MS, countMs: e.COUNT_CACHE_MS, responseMs: e.RESPONSE_CACHE_MS },
    webhooks: {
      enabled: e.WEBHOOKS === '1' || e.WEBHOOKS === 'true',
      intervalMs: e.WEBHOOK_INTERVAL_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      baseBackoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
  };
}
