import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Config } from './config.ts';
import {
  type Context,
  clientIpOf,
  createContextInner,
  credentialsFromHeaders,
  resolveViewer,
  type Services,
  type Viewer,
} from './context.ts';
import { busyDatabaseError, type Database } from './db/database.ts';
import { corsGuardPlugin, corsOptions, securityHeadersPlugin } from './edge/cors.ts';
import { inputGuardPlugin } from './edge/input-guard.ts';
import { createMetrics } from './edge/metrics.ts';
import { queryLimitPlugins } from './edge/query-limits.ts';
import { viewerOfRequest } from './edge/request-viewer.ts';
import { setupTracing, tracingPlugins } from './edge/tracing.ts';
import { isDatabaseUnavailable, outageLog } from './edge/unavailable.ts';
import { AppError, RateLimitedError, UnavailableError } from './errors.ts';
import { graphiqlAssetsPlugin, renderOfflineGraphiQL } from './graphiql.ts';
import { createLogger, type Logger } from './logger.ts';
import { createAuditRetentionScheduler } from './modules/audit/audit.service.ts';
import { customerExportPlugin } from './modules/customers/customer.export.ts';
import { EventBus, eventPublishPlugin } from './modules/events/event-bus.ts';
import { createRetentionScheduler } from './modules/events/event-retention.ts';
import { eventDoorbells } from './modules/events/redis-doorbell.ts';
import { sharedEventExecutionPlugin } from './modules/events/shared-execution.ts';
import { createFollowUpDueScheduler } from './modules/follow-ups/follow-up-due.ts';
import { createLeadPoolScheduler } from './modules/follow-ups/lead-pool.scheduler.ts';
import { createLifecycleScheduler, withLifecycle } from './modules/lifecycle/lifecycle.scheduler.ts';
import { createLoyaltyScheduler } from './modules/loyalty/loyalty.scheduler.ts';
import { segmentExportPlugin } from './modules/segments/segment.export.ts';
import { createSegmentScheduler } from './modules/segments/segment.service.ts';
import { createDispatcher } from './modules/webhooks/webhook.dispatcher.ts';
import { createLimits, limitsPlugin, registerLimits } from './rate-limit.ts';
import { createReadCaches } from './read-caches.ts';
import { requestIdPlugin } from './request-id.ts';
import { responseCachePlugin } from './response-cache.ts';
import { schema } from './schema.ts';

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
  /** Applies data changes to saved segments every SEGMENTS_INTERVAL_MS (entered / left events). */
  segments: ReturnType<typeof createSegmentScheduler>;
  /** Emits FOLLOW_UP_DUE for passed due dates every FOLLOW_UP_DUE_INTERVAL_MS. */
  followUpDue: ReturnType<typeof createFollowUpDueScheduler>;
  /** Prunes events, finished webhook deliveries and idempotency keys past EVENT_RETENTION_DAYS. */
  retention: ReturnType<typeof createRetentionScheduler>;
  /** Prunes audit entries past AUDIT_RETENTION_DAYS. */
  auditRetention: ReturnType<typeof createAuditRetentionScheduler>;
  /** Folds new orders / interactions into loyalty metrics and points every LOYALTY_INTERVAL_MS; a full recompute daily. */
  loyalty: ReturnType<typeof createLoyaltyScheduler>;
};

const HTTP_STATUS: Partial<Record<string, number>> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, RATE_LIMITED: 429, UNAVAILABLE: 503 };

/** Expected errors keep their message and code; everything else is masked with a code and request id. */
function maskError(logger: Logger, retryAfterSeconds: number) {
  const logOutage = outageLog(logger);
  return (error: unknown, message: string): Error => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    const gqlErr = error instanceof GraphQLError ? error : null;
    let appErr =
      original instanceof AppError ? original : (busyDatabaseError(original) ?? (original as { originalError?: unknown })?.originalError);
    // The database is unreachable: an honest, retryable 503, logged once per outage window.
    if (!(appErr instanceof AppError) && isDatabaseUnavailable(original)) {
      logOutage(original);
      appErr = new UnavailableError('The database is temporarily unavailable; retry later', retryAfterSeconds);
    }
    if (appErr instanceof AppError) {
      const retryAfter = appErr instanceof RateLimitedError || appErr instanceof UnavailableError ? appErr.retryAfterSeconds : null;
      return new GraphQLError(appErr.message, {
        nodes: gqlErr?.nodes,
        path: gqlErr?.path,
        extensions: {
          code: appErr.code,
          ...(HTTP_STATUS[appErr.code]
            ? {
                http: {
                  status: HTTP_STATUS[appErr.code],
                  ...(retryAfter !== null ? { headers: { 'Retry-After': String(retryAfter) } } : {}),
                },
              }
            : {}),
          ...(retryAfter !== null ? { retryAfterSeconds: retryAfter } : {}),
        },
      });
    }
    // GraphQL validation/parse errors (no original error) are the client's and safe to show.
    if (gqlErr && !gqlErr.originalError) {
      return new GraphQLError(gqlErr.message, {
        nodes: gqlErr.nodes,
        path: gqlErr.path,
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED', ...gqlErr.extensions },
      });
    }
    // Bad input rejected by GraphQL or Pothos while coercing/mapping it (a variable with an unknown
    // enum value or malformed scalar; an invalid global id or cursor): the client's, not a crash.
    if (gqlErr && original instanceof GraphQLError && !original.originalError) {
      return new GraphQLError(gqlErr.message, {
        nodes: gqlErr.nodes,
        path: gqlErr.path,
        extensions: { code: original instanceof PothosValidationError ? 'VALIDATION_FAILED' : 'GRAPHQL_VALIDATION_FAILED' },
      });
    }
    const errorId = randomUUID();
    logger.error('unexpected error', { errorId, error: String((original as Error)?.stack ?? original).slice(0, 2000) });
    return new GraphQLError(message, { nodes: gqlErr?.nodes, path: gqlErr?.path, extensions: { code: 'INTERNAL', errorId } });
  };
}

function loggingPlugin(logger: Logger): Plugin<Context> {
  return {
    onExecute({ args }) {
      const start = performance.now();
      const ctx = args.contextValue as Context;
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result && result.errors ? result.errors.map((e) => e.extensions?.code ?? 'ERROR') : undefined;
          logger.info('graphql', {
            requestId: ctx.requestId,
            operationName: args.operationName ?? undefined,
            shopId: ctx.viewer.kind === 'anonymous' ? undefined : ctx.viewer.shopId,
            keyKind: ctx.viewer.kind,
            ms: Math.round(performance.now() - start),
            errors,
          });
        },
      };
    },
  };
}

function wsCredentials(wsCtx: {
  connectionParams?: Readonly<Record<string, unknown>>;
  extra: { request: { headers: Record<string, string | string[] | undefined> } };
}) {
  const p = wsCtx.connectionParams ?? {};
  const get = (name: string) => {
    const v = p[name] ?? p[name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())] ?? wsCtx.extra.request.headers[name];
    return typeof v === 'string' ? v : null;
  };
  const creds = credentialsFromHeaders(get);
  return { ...creds, apiKey: creds.apiKey ?? get('apiKey') };
}

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

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    // Liveness (process up): /livez; readiness with the database: /health (below).
    healthCheckEndpoint: '/livez',
    graphiql: config.env === 'development' ? { title: 'Headless CRM', subscriptionsProtocol: 'WS' } : false,
    renderGraphiQL: renderOfflineGraphiQL,
    landingPage: false,
    logging: false,
    cors: corsOptions(services),
    maskedErrors: { maskError: maskError(logger, config.unavailableRetryAfterSeconds) },
    context: async ({ request, req }) => {
      const viewer = await viewerOfRequest(services, request);
      const socketAddress = (req as { socket?: { remoteAddress?: string } } | undefined)?.socket?.remoteAddress;
      const ip = clientIpOf(config.trustProxy, request.headers.get('x-forwarded-for'), socketAddress);
      return createContextInner(
        services,
        viewer,
        request.headers.get('x-request-id') ?? randomUUID(),
        ip,
        request.headers.get('user-agent')?.slice(0, 500) ?? null,
      );
    },
    plugins: [
      ...(config.env === 'development' ? [graphiqlAssetsPlugin()] : []),
      requestIdPlugin(),
      // The edge (src/edge/, rate-limit.ts): traces, metrics, headers, CORS, limits, input checks.
      ...(tracing ? tracingPlugins() : []),
      securityHeadersPlugin(services),
      ...(metrics?.plugins ?? []),
      corsGuardPlugin(services),
      limitsPlugin(services, limits, '/graphql'),
      ...queryLimitPlugins(services),
      inputGuardPlugin(),
      loggingPlugin(logger),
      eventPublishPlugin(events),
      segmentExportPlugin(services),
      customerExportPlugin(services),
      sharedEventExecutionPlugin(),
      ...(services.caches?.responses ? [responseCachePlugin(services.caches.responses)] : []),
      {
        async onRequest({ url, endResponse, fetchAPI }) {
          if (url.pathname !== '/health') return;
          const up = await database.prisma.$queryRaw`SELECT 1`.then(
            () => true,
            () => false,
          );
          endResponse(
            new fetchAPI.Response(JSON.stringify({ status: up ? 'ok' : 'degraded', database: up ? 'up' : 'down' }), {
              status: up ? 200 : 503,
              headers: { 'content-type': 'application/json' },
            }),
          );
        },
      },
    ],
  });

  let server: Server | null = null;
  let wss: WebSocketServer | null = null;
  let wsCleanup: { dispose(): void | Promise<void> } | null = null;

  const webhooks = createDispatcher({
    prisma: database.prisma,
    logger,
    intervalMs: config.webhooks.intervalMs,
    maxAttempts: config.webhooks.maxAttempts,
    baseBackoffMs: config.webhooks.baseBackoffMs,
    timeoutMs: config.webhooks.timeoutMs,
    targets: config.webhookTargets,
  });

  const leadPool = createLeadPoolScheduler({ prisma: database.prisma, logger, intervalMs: config.leadPoolIntervalMs });
  const segments = createSegmentScheduler({ prisma: database.prisma, logger, ...config.segments });
  const followUpDue = createFollowUpDueScheduler({ prisma: database.prisma, logger, intervalMs: config.followUpDueIntervalMs });
  const retention = createRetentionScheduler({
    prisma: database.prisma,
    logger,
    retentionDays: config.events.retentionDays,
    intervalMs: config.events.retentionIntervalMs,
  });
  const loyalty = withLifecycle(
    createLoyaltyScheduler({ prisma: database.prisma, logger, intervalMs: config.loyaltyIntervalMs }),
    createLifecycleScheduler({ prisma: database.prisma, logger, intervalMs: config.lifecycleIntervalMs }),
  );
  const auditRetention = createAuditRetentionScheduler({ prisma: database.prisma, logger, ...config.audit });

  return {
    yoga,
    services,
    webhooks,
    leadPool,
    segments,
    followUpDue,
    retention,
    loyalty,
    auditRetention,
    httpServer: () => server,
    async start() {
      if (config.webhooks.enabled) webhooks.start();
      leadPool.start();
      segments.start();
      followUpDue.start();
      retention.start();
      auditRetention.start();
      loyalty.start();
      events.reopen();
      // The read caches hear other instances' changes through the bus's doorbells.
      if (services.caches?.apiKeys || services.caches?.counts || services.caches?.responses) void events.start();
      server = createServer(yoga);
      wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
      wsCleanup = useServer(
        {
          execute: (args) => (args.rootValue as { execute: (a: unknown) => never }).execute(args),
          subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => never }).subscribe(args),
          // Credentials come in the connection_init payload ({ authorization: "Bearer <key>" } or
          // { apiKey }) or the upgrade request's headers; bad credentials close the socket (4403).
          onConnect: async (wsCtx) => {
            const viewer = await resolveViewer(services, wsCredentials(wsCtx)).catch(() => null);
            if (!viewer) return false;
            (wsCtx.extra as { viewer?: Viewer }).viewer = viewer;
            return true;
          },
          onSubscribe: async (wsCtx, _id, params) => {
            const {
              schema: s,
              execute,
              subscribe,
              parse,
              validate,
            } = yoga.getEnveloped({
              ...wsCtx,
              req: wsCtx.extra.request,
              socket: wsCtx.extra.socket,
              params,
            });
            const viewer = (wsCtx.extra as { viewer?: Viewer }).viewer ?? { kind: 'anonymous' as const };
            const args = {
              schema: s,
              operationName: params.operationName,
              document: parse(params.query),
              variableValues: params.variables,
              contextValue: createContextInner(
                services,
                viewer,
                undefined,
                clientIpOf(
                  config.trustProxy,
                  wsCtx.extra.request.headers['x-forwarded-for'] as string | undefined,
                  wsCtx.extra.request.socket.remoteAddress,
                ),
              ),
              rootValue: { execute, subscribe },
            };
            const errors = validate(args.schema, args.document);
            if (errors.length) return errors;
            return args;
          },
        },
        wss,
      );
      await new Promise<void>((resolve, reject) => {
        server?.once('error', reject);
        server?.listen(config.port, config.host, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      const url = `http://${config.host}:${addr.port}`;
      logger.info('listening', { url: `${url}/graphql` });
      return url;
    },
    async stop() {
      await webhooks.stop();
      await leadPool.stop();
      await segments.stop();
      await followUpDue.stop();
      await retention.stop();
      await auditRetention.stop();
      await loyalty.stop();
      await limits.close();
      metrics?.close();
      await tracing?.forceFlush().catch(() => undefined);
      const s = server;
      server = null;
      if (s) {
        await wsCleanup?.dispose();
        wss?.close();
      }
      // Ends every open subscription stream (SSE responses finish, so the server can close).
      await events.close();
      if (!s) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          s.closeAllConnections();
          resolve();
        }, 10_000);
        s.close(() => {
          clearTimeout(timer);
          resolve();
        });
        s.closeIdleConnections();
      });
      logger.info('stopped');
    },
  };
}
