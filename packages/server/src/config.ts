import { hostname } from 'node:os';
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
  /** How often the daily retention pass (birthdays, holidays, service reminders, offers) looks for a new local day (0 = never). */
  RETENTION_FOLLOW_UPS_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** Saved segments: how often changes from the outbox are applied (0 = never), and the full-refresh age. */
  SEGMENTS_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
  SEGMENTS_FULL_REFRESH_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** Real-time: the event bus's safety poll (ms) and whether it LISTENs on PostgreSQL (0: off, e.g. behind PgBouncer in transaction mode; Redis and the poll still ring). */
  EVENT_POLL_MS: z.coerce.number().int().min(50).default(2000),
  EVENT_PG_LISTEN: z.enum(['0', '1', 'true', 'false']).default('1'),
  /** Events (and finished webhook deliveries, idempotency keys) older than this are pruned (0 = keep forever). */
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  /** Audit log entries older than this are pruned (0 = keep forever); independent of EVENT_RETENTION_DAYS. */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(0).default(365),
  /** Storefront behaviour events (docs/behaviour.md) older than this are deleted (0 = keep forever). */
  BEHAVIOUR_RETENTION_DAYS: z.coerce.number().int().min(0).default(395),
  /** Storefront behaviour events accepted per minute per publishable key, and per visitor. */
  BEHAVIOUR_EVENTS_PER_KEY: z.coerce.number().int().positive().default(60_000),
  BEHAVIOUR_EVENTS_PER_VISITOR: z.coerce.number().int().positive().default(300),
  /** How often retention pruning runs (0 = never). */
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** How often FOLLOW_UP_DUE is checked for (0 = never). */
  FOLLOW_UP_DUE_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  /** How often stitched CHECKOUT_STARTED behaviour events are decided (CHECKOUT_ABANDONED; 0 = never). */
  ABANDONED_CHECKOUT_INTERVAL_MS: z.coerce.number().int().min(0).default(300_000),
  /** How often new orders / interactions are folded into loyalty metrics and points (0 = never; reads refresh anyway). */
  LOYALTY_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  /** The lifecycle ladder's background pass (modules/lifecycle); 0 turns it off. */
  LIFECYCLE_INTERVAL_MS: z.coerce.number().int().min(0).default(600_000),
  // Database connections and migrations (docs/scale-out.md).
  /** 0: never migrate on start; a start that finds pending migrations refuses to serve (run migrate:deploy first). */
  MIGRATE_ON_START: z.enum(['0', '1', 'true', 'false']).default('1'),
  /** A direct (not pooled) PostgreSQL URL for migrations, when DATABASE_URL goes through PgBouncer. */
  MIGRATION_DATABASE_URL: z.string().url().optional(),
  /** How long a migration run waits for another run's migration lock before failing (0 = forever). */
  MIGRATION_LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).default(60_000),
  /** Connections per instance in the pool (plus one for LISTEN when a subscriber connects). */
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  /** Longest wait to open a connection or get one from a full pool (then the request fails UNAVAILABLE). */
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** An idle pooled connection is closed after this long (0 = never). */
  DB_IDLE_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** PostgreSQL statement_timeout for the pool's connections (0 = none; behind PgBouncer set it on the role instead). */
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(0),
  /**
   * Compiled reads as named (server-side prepared) statements: each query shape parsed and planned
   * once per connection. 0 behind a pooler that does not keep them (PgBouncer before 1.21 in
   * transaction mode); such a pooler's refusal also turns them off by itself.
   */
  DB_PREPARED_STATEMENTS: z.enum(['0', '1', 'true', 'false']).default('1'),
  /** Interactive transactions: longest wait to start one (then UNAVAILABLE) and longest run. */
  DB_TX_MAX_WAIT_MS: z.coerce.number().int().positive().default(5_000),
  DB_TX_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  /** application_name of this instance's connections (pg_stat_activity); default crm-<host>-<pid>. */
  DB_APPLICATION_NAME: z.string().min(1).max(63).optional(),
  // --- The edge: abuse limits, webhooks' targets, CORS, observability (docs/limits.md, docs/observability.md).
  /** Requests per minute per client IP without an API key. */
  RATE_LIMIT_ANONYMOUS_PER_IP: z.coerce.number().int().positive().default(30),
  /** Query-cost budget per API key: bucket size (points) and restore rate (points a second). */
  COST_BUCKET_SIZE: z.coerce.number().int().positive().default(10_000),
  COST_RESTORE_RATE: z.coerce.number().int().positive().default(500),
  /** 0: no query-cost budget (no charge, no `extensions.cost`), e.g. behind a gateway that meters itself, and in benchmarks. */
  COST_BUDGET: z.enum(['0', '1', 'true', 'false']).default('1'),
  /** Prefix of the rate-limit keys in Redis (instances sharing limits use the same prefix). */
  RATE_LIMIT_PREFIX: z.string().min(1).default('crm:rl'),
  /** Parser and document limits, enforced before execution (tokens before parsing). */
  MAX_QUERY_TOKENS: z.coerce.number().int().positive().default(2000),
  MAX_QUERY_ALIASES: z.coerce.number().int().positive().default(30),
  MAX_QUERY_DIRECTIVES: z.coerce.number().int().positive().default(50),
  MAX_DOCUMENT_BYTES: z.coerce.number().int().positive().default(100_000),
  /** Largest /graphql request body (document and variables), in bytes. */
  MAX_REQUEST_BYTES: z.coerce.number().int().positive().default(5_000_000),
  /** Introspection and "Did you mean" suggestions: 'secret' (secret keys only), 'all', 'none'. Default: all outside production, secret in production. */
  INTROSPECTION: z.enum(['secret', 'all', 'none']).optional(),
  /** Webhook targets: allow http:// and private / loopback addresses (local development and tests only). */
  WEBHOOK_ALLOW_HTTP: z.enum(['0', '1', 'true', 'false']).default('0'),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['0', '1', 'true', 'false']).default('0'),
  /** 1: secret keys may be used from browsers (requests with an Origin header). */
  SECRET_KEYS_FROM_BROWSER: z.enum(['0', '1', 'true', 'false']).default('0'),
  /** Seconds clients are told to wait (Retry-After) while the database is unavailable. */
  UNAVAILABLE_RETRY_AFTER_S: z.coerce.number().int().positive().default(5),
  /** /metrics (Prometheus): on/off, and a bearer token required to read it (unset: open; bind or firewall it). */
  METRICS: z.enum(['0', '1', 'true', 'false']).default('1'),
  METRICS_TOKEN: z.string().min(16).optional(),
  /** OpenTelemetry: traces are exported over OTLP/HTTP to this endpoint when set (e.g. http://collector:4318). */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('headless-crm'),
  /** How long an API key lookup is reused, ms (0 = look up every request); a revoke clears it at once. */
  API_KEY_CACHE_MS: z.coerce.number().int().min(0).default(30_000),
  /** How long a list's totalCount is reused per shop and filter, ms (0 = count every request); any event of the shop clears it. */
  COUNT_CACHE_MS: z.coerce.number().int().min(0).default(5_000),
  /** Response cache for read queries, ms an answer is reused per shop, caller and request (0 = off, the default). */
  RESPONSE_CACHE_MS: z.coerce.number().int().min(0).default(0),
  /** Compiled reads: hot read queries answered by one generated SQL statement (docs/performance.md); 0 = always the executor. */
  COMPILED_READS: z.enum(['0', '1', 'true', 'false']).default('1'),
  // --- Bulk imports (docs/import.md).
  /** Largest upload accepted (bytes); a bigger one is refused with 413 PAYLOAD_TOO_LARGE. */
  IMPORT_MAX_BYTES: z.coerce.number().int().positive().default(268_435_456),
  /** Rows per set-based batch (one statement, one transaction each). */
  IMPORT_BATCH_ROWS: z.coerce.number().int().min(1).max(20_000).default(2000),
  /** On PostgreSQL, an upload of at least this many bytes is imported in a worker process of its own (0: every upload). */
  IMPORT_WORKER_MIN_BYTES: z.coerce.number().int().min(0).default(1_048_576),
  /** Import worker processes at once per instance (2 connections each); further imports wait for one. */
  IMPORT_WORKERS_MAX: z.coerce.number().int().min(1).max(32).default(2),
  /** An import worker waits this long for the next import before it ends (0: it ends after each one, and uploads start none ahead). */
  IMPORT_WORKER_IDLE_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  /** The CPU priority an import worker lowers itself to (nice 0-19; 0: the API's own): imports are background work. */
  IMPORT_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  /** Rejected-row reports (personal data) are deleted this many days after the import ended. */
  IMPORT_REPORT_RETENTION_DAYS: z.coerce.number().int().min(1).default(7),
  /** Uploads never started are deleted after this many hours. */
  IMPORT_UPLOAD_TTL_HOURS: z.coerce.number().int().min(1).default(24),
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
  /** RETENTION_FOLLOW_UPS_INTERVAL_MS: the daily retention pass (modules/follow-ups/retention.scheduler.ts). */
  retentionFollowUpsIntervalMs: number;
  segments: { intervalMs: number; fullRefreshMs: number };
  events: { pollMs: number; pgListen: boolean; retentionDays: number; retentionIntervalMs: number };
  followUpDueIntervalMs: number;
  /** ABANDONED_CHECKOUT_INTERVAL_MS: the abandoned checkout pass (modules/loyalty/abandoned-checkout.ts). */
  abandonedCheckoutIntervalMs: number;
  loyaltyIntervalMs: number;
  /** LIFECYCLE_INTERVAL_MS: the lifecycle ladder pass (modules/lifecycle). */
  lifecycleIntervalMs: number;
  database: DatabaseConfig;
  limits: {
    anonymousPerIp: number;
    costBucketSize: number;
    costRestoreRate: number;
    /** COST_BUDGET: charge queries their cost and report it (default on). */
    costBudget: boolean;
    keyPrefix: string;
    maxTokens: number;
    maxAliases: number;
    maxDirectives: number;
    maxDocumentBytes: number;
    maxRequestBytes: number;
    introspection: 'secret' | 'all' | 'none';
  };
  webhookTargets: { allowHttp: boolean; allowPrivate: boolean };
  secretKeysFromBrowser: boolean;
  unavailableRetryAfterSeconds: number;
  metrics: { enabled: boolean; token?: string };
  otel: { endpoint?: string; serviceName: string };
  /** Audit log retention (AUDIT_RETENTION_DAYS; pruned every RETENTION_INTERVAL_MS). */
  audit: { retentionDays: number; intervalMs: number };
  caches: { apiKeyMs: number; countMs: number; responseMs: number };
  /** COMPILED_READS: answer the read queries the compiled path knows in one statement. */
  compiledReads: boolean;
  /** Bulk imports (IMPORT_*; docs/import.md). */
  imports: {
    maxBytes: number;
    batchRows: number;
    reportRetentionDays: number;
    uploadTtlHours: number;
    /** Uploads of at least this many bytes run in a worker process on PostgreSQL (absent: 1 MiB; 0: every one). */
    workerMinBytes?: number;
    /** Import worker processes running at once for this instance; more imports wait for one (absent: 2). */
    workersMax?: number;
    /** How long a finished import's worker waits for the next import, ms (absent: 60,000; 0: none waits). */
    workerIdleMs?: number;
    /** The nice value an import worker process runs at (absent: 10; 0: the API's priority). */
    workerNice?: number;
  };
  /** Storefront behaviour events (docs/behaviour.md): retention (pruned every RETENTION_INTERVAL_MS) and per-minute event limits. */
  behaviour: { retentionDays: number; intervalMs: number; eventsPerKey: number; eventsPerVisitor: number };
};

/** Connection pool and migration settings (docs/scale-out.md). */
export type DatabaseConfig = {
  migrateOnStart: boolean;
  migrationUrl?: string;
  migrationLockTimeoutMs: number;
  poolSize: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  statementTimeoutMs: number;
  preparedStatements: boolean;
  txMaxWaitMs: number;
  txTimeoutMs: number;
  applicationName: string;
};

const flag = (v: string) => v === '1' || v === 'true';

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
    retentionFollowUpsIntervalMs: e.RETENTION_FOLLOW_UPS_INTERVAL_MS,
    segments: { intervalMs: e.SEGMENTS_INTERVAL_MS, fullRefreshMs: e.SEGMENTS_FULL_REFRESH_MS },
    events: {
      pollMs: e.EVENT_POLL_MS,
      pgListen: e.EVENT_PG_LISTEN === '1' || e.EVENT_PG_LISTEN === 'true',
      retentionDays: e.EVENT_RETENTION_DAYS,
      retentionIntervalMs: e.RETENTION_INTERVAL_MS,
    },
    followUpDueIntervalMs: e.FOLLOW_UP_DUE_INTERVAL_MS,
    abandonedCheckoutIntervalMs: e.ABANDONED_CHECKOUT_INTERVAL_MS,
    loyaltyIntervalMs: e.LOYALTY_INTERVAL_MS,
    lifecycleIntervalMs: e.LIFECYCLE_INTERVAL_MS,
    database: {
      migrateOnStart: e.MIGRATE_ON_START === '1' || e.MIGRATE_ON_START === 'true',
      migrationUrl: e.MIGRATION_DATABASE_URL,
      migrationLockTimeoutMs: e.MIGRATION_LOCK_TIMEOUT_MS,
      poolSize: e.DB_POOL_SIZE,
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
      idleTimeoutMs: e.DB_IDLE_TIMEOUT_MS,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      preparedStatements: flag(e.DB_PREPARED_STATEMENTS),
      txMaxWaitMs: e.DB_TX_MAX_WAIT_MS,
      txTimeoutMs: e.DB_TX_TIMEOUT_MS,
      applicationName: e.DB_APPLICATION_NAME ?? `crm-${hostname()}-${process.pid}`.slice(0, 63),
    },
    limits: {
      anonymousPerIp: e.RATE_LIMIT_ANONYMOUS_PER_IP,
      costBucketSize: e.COST_BUCKET_SIZE,
      costRestoreRate: e.COST_RESTORE_RATE,
      costBudget: flag(e.COST_BUDGET),
      keyPrefix: e.RATE_LIMIT_PREFIX,
      maxTokens: e.MAX_QUERY_TOKENS,
      maxAliases: e.MAX_QUERY_ALIASES,
      maxDirectives: e.MAX_QUERY_DIRECTIVES,
      maxDocumentBytes: e.MAX_DOCUMENT_BYTES,
      maxRequestBytes: e.MAX_REQUEST_BYTES,
      introspection: e.INTROSPECTION ?? (e.NODE_ENV === 'production' ? 'secret' : 'all'),
    },
    webhookTargets: { allowHttp: flag(e.WEBHOOK_ALLOW_HTTP), allowPrivate: flag(e.WEBHOOK_ALLOW_PRIVATE) },
    secretKeysFromBrowser: flag(e.SECRET_KEYS_FROM_BROWSER),
    unavailableRetryAfterSeconds: e.UNAVAILABLE_RETRY_AFTER_S,
    metrics: { enabled: flag(e.METRICS), token: e.METRICS_TOKEN },
    otel: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
    audit: { retentionDays: e.AUDIT_RETENTION_DAYS, intervalMs: e.RETENTION_INTERVAL_MS },
    behaviour: {
      retentionDays: e.BEHAVIOUR_RETENTION_DAYS,
      intervalMs: e.RETENTION_INTERVAL_MS,
      eventsPerKey: e.BEHAVIOUR_EVENTS_PER_KEY,
      eventsPerVisitor: e.BEHAVIOUR_EVENTS_PER_VISITOR,
    },
    caches: { apiKeyMs: e.API_KEY_CACHE_MS, countMs: e.COUNT_CACHE_MS, responseMs: e.RESPONSE_CACHE_MS },
    compiledReads: flag(e.COMPILED_READS),
    imports: {
      maxBytes: e.IMPORT_MAX_BYTES,
      batchRows: e.IMPORT_BATCH_ROWS,
      workerMinBytes: e.IMPORT_WORKER_MIN_BYTES,
      workersMax: e.IMPORT_WORKERS_MAX,
      workerIdleMs: e.IMPORT_WORKER_IDLE_MS,
      workerNice: e.IMPORT_WORKER_NICE,
      reportRetentionDays: e.IMPORT_REPORT_RETENTION_DAYS,
      uploadTtlHours: e.IMPORT_UPLOAD_TTL_HOURS,
    },
    webhooks: {
      enabled: e.WEBHOOKS === '1' || e.WEBHOOKS === 'true',
      intervalMs: e.WEBHOOK_INTERVAL_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      baseBackoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
  };
}
