import type { Server } from 'node:http';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config.ts';
import type { Context, Services } from './context.ts';
import type { Database } from './db/database.ts';
import { createMetrics } from './edge/metrics.ts';
import { setupTracing } from './edge/tracing.ts';
import { createLogger, type Logger } from './logger.ts';
import type { createAuditRetentionScheduler } from './modules/audit/audit.service.ts';
import type { createBehaviourRetentionScheduler } from './modules/behaviour/track.service.ts';
import { EventBus } from './modules/events/event-bus.ts';
import type { createRetentionScheduler } from './modules/events/event-retention.ts';
import { eventDoorbells } from './modules/events/redis-doorbell.ts';
import type { createFollowUpDueScheduler } from './modules/follow-ups/follow-up-due.ts';
import type { createLeadPoolScheduler } from './modules/follow-ups/lead-pool.scheduler.ts';
import type { createRetentionFollowUpScheduler } from './modules/follow-ups/retention.scheduler.ts';
import type { createAbandonedCheckoutScheduler } from './modules/loyalty/abandoned-checkout.ts';
import type { createLoyaltyScheduler } from './modules/loyalty/loyalty.scheduler.ts';
import type { createSegmentScheduler } from './modules/segments/segment.service.ts';
import type { createDispatcher } from './modules/webhooks/webhook.dispatcher.ts';
import { createLimits, registerLimits } from './rate-limit.ts';
import { createReadCaches } from './read-caches.ts';
import { createHttpServer, type HttpServer } from './server/http.ts';
import { createJobs } from './server/jobs.ts';
import { createYogaServer } from './server/yoga.ts';

export type AppOptions = {
  config: Config;
  database: Database;
  logger?: Logger;
  /** Also send trace spans here (tests; OTEL_EXPORTER_OTLP_ENDPOINT is the production way). */
  spanExporter?: import('@opentelemetry/sdk-trace-node').SpanExporter;
  /** Secret for customer tokens; defaults to config.customerTokenSecret. */
  tokenSecret?: string;
};

export type App = {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  services: Services;
  /** Starts HTTP + WebSocket on config.port (0 = any free port); resolves to the base URL. */
  start(): Promise<string>;
  /** Stops accepting connections, lets in-flight requests finish (up to 10 s), closes sockets. */
  stop(): Promise<void>;
  /** The Node HTTP server while started (null otherwise), e.g. to attach other handlers. */
  httpServer(): Server | null;
  /** The webhook dispatcher (runs in the background between start and stop when enabled). */
  webhooks: ReturnType<typeof createDispatcher>;
  /** Returns stale leads to the pool and auto-assigns pool leads every LEAD_POOL_INTERVAL_MS. */
  leadPool: ReturnType<typeof createLeadPoolScheduler>;
  /** The daily retention pass (birthdays, holidays, service reminders, offers), every RETENTION_FOLLOW_UPS_INTERVAL_MS. */
  retentionFollowUps: ReturnType<typeof createRetentionFollowUpScheduler>;
  /** Applies data changes to saved segments every SEGMENTS_INTERVAL_MS (entered / left events). */
  segments: ReturnType<typeof createSegmentScheduler>;
  /** Emits FOLLOW_UP_DUE for passed due dates every FOLLOW_UP_DUE_INTERVAL_MS. */
  followUpDue: ReturnType<typeof createFollowUpDueScheduler>;
  /** Prunes events, finished webhook deliveries and idempotency keys past EVENT_RETENTION_DAYS. */
  retention: ReturnType<typeof createRetentionScheduler>;
  /** Prunes audit entries past AUDIT_RETENTION_DAYS. */
  auditRetention: ReturnType<typeof createAuditRetentionScheduler>;
  /** The behaviour-event retention pass (BEHAVIOUR_RETENTION_DAYS; docs/behaviour.md). */
  behaviourRetention: ReturnType<typeof createBehaviourRetentionScheduler>;
  /** Folds new orders / interactions into loyalty metrics and points every LOYALTY_INTERVAL_MS; a full recompute daily. */
  loyalty: ReturnType<typeof createLoyaltyScheduler>;
  /** Decides stitched CHECKOUT_STARTED events (CHECKOUT_ABANDONED) every ABANDONED_CHECKOUT_INTERVAL_MS. */
  abandonedCheckout: ReturnType<typeof createAbandonedCheckoutScheduler>;
};

export function buildApp(opts: AppOptions): App {
  const { config, database } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const tokenSecret = opts.tokenSecret ?? config.customerTokenSecret;
  if (!tokenSecret) throw new Error('A customer token secret is required (CUSTOMER_TOKEN_SECRET)');
  const events = new EventBus({
    database,
    logger,
    pollMs: config.events.pollMs,
    pgListen: config.events.pgListen,
    doorbells: eventDoorbells(config, logger),
  });
  const services: Services = { database, config, logger, tokenSecret, events, caches: createReadCaches(config, events) };
  const limits = createLimits(config, logger);
  registerLimits(services, limits);
  const metrics = config.metrics.enabled ? createMetrics(services) : null;
  const tracing = setupTracing({ ...config.otel, exporter: opts.spanExporter });

  const yoga = createYogaServer(services, { limits, metrics, tracing: Boolean(tracing) });
  const jobs = createJobs(database, config, logger);
  let http: HttpServer | null = null;

  return {
    yoga,
    services,
    webhooks: jobs.webhooks,
    leadPool: jobs.leadPool,
    retentionFollowUps: jobs.retentionFollowUps,
    segments: jobs.segments,
    followUpDue: jobs.followUpDue,
    retention: jobs.retention,
    loyalty: jobs.loyalty,
    auditRetention: jobs.auditRetention,
    abandonedCheckout: jobs.abandonedCheckout,
    behaviourRetention: jobs.behaviourRetention,
    httpServer: () => http?.server ?? null,
    async start() {
      jobs.start();
      events.reopen();
      // The read caches hear other instances' changes through the bus's doorbells.
      if (services.caches?.apiKeys || services.caches?.counts || services.caches?.responses) void events.start();
      http = createHttpServer(yoga, services);
      return http.listen();
    },
    async stop() {
      await jobs.stop();
      await limits.close();
      metrics?.close();
      await tracing?.forceFlush().catch(() => undefined);
      const h = http;
      http = null;
      if (h) await h.closeSockets();
      // Ends every open subscription stream (SSE responses finish, so the server can close).
      await events.close();
      if (!h) return;
      await h.close();
      logger.info('stopped');
    },
  };
}
