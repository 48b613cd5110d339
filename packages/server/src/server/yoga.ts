import { randomUUID } from 'node:crypto';
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { compiledReadsPlugin } from '../compiled/plugin.ts';
import { type Context, clientIpOf, createContextInner, type Services } from '../context.ts';
import { busyDatabaseError } from '../db/database.ts';
import { corsGuardPlugin, corsOptions, securityHeadersPlugin } from '../edge/cors.ts';
import { cursorGuardPlugin } from '../edge/cursor-guard.ts';
import { inputGuardPlugin } from '../edge/input-guard.ts';
import type { createMetrics } from '../edge/metrics.ts';
import { queryLimitPlugins } from '../edge/query-limits.ts';
import { requestBodyLimitPlugin } from '../edge/request-body.ts';
import { viewerOfRequest } from '../edge/request-viewer.ts';
import { tracingPlugins } from '../edge/tracing.ts';
import { isDatabaseUnavailable, outageLog } from '../edge/unavailable.ts';
import { AppError, RateLimitedError, UnavailableError } from '../errors.ts';
import { graphiqlAssetsPlugin, renderOfflineGraphiQL } from '../graphiql.ts';
import type { Logger } from '../logger.ts';
import { behaviourBeaconPlugin } from '../modules/behaviour/track.beacon.ts';
import { customerExportPlugin } from '../modules/customers/customer.export.ts';
import { eventPublishPlugin } from '../modules/events/event-bus.ts';
import { sharedEventExecutionPlugin } from '../modules/events/shared-execution.ts';
import { importHttpPlugin } from '../modules/imports/import.http.ts';
import { segmentExportPlugin } from '../modules/segments/segment.export.ts';
import { type createLimits, limitsPlugin } from '../rate-limit.ts';
import { requestIdPlugin } from '../request-id.ts';
import { responseCachePlugin } from '../response-cache.ts';
import { schema } from '../schema.ts';

/**
 * The GraphQL handler (graphql-yoga): the schema, the context built from the request's credentials,
 * the edge plugins in their order, error masking, and the /health readiness check. buildApp (app.ts)
 * serves it over HTTP and WebSocket (server/http.ts).
 */

export type Yoga = YogaServerInstance<Record<string, unknown>, Context>;

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
    // enum value or malformed scalar; an invalid global id): the client's, not a crash.
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

/** The Yoga instance of the app; `edge`: the limits, metrics and tracing buildApp set up for it. */
export function createYogaServer(
  services: Services,
  edge: { limits: ReturnType<typeof createLimits>; metrics: ReturnType<typeof createMetrics> | null; tracing: boolean },
): Yoga {
  const { config, logger, database, events } = services;
  const { limits, metrics, tracing } = edge;
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    // Liveness (process up): /livez; readiness with the database: /health (below).
    healthCheckEndpoint: '/livez',
    graphiql: config.env === 'development' ? { title: 'Headless CRM', subscriptionsProtocol: 'WS' } : false,
    renderGraphiQL: renderOfflineGraphiQL,
    landingPage: false,
    logging: false,
    // Checked by requestBodyLimitPlugin (edge/request-body.ts), without a stream when Content-Length bounds the body.
    maxRequestBodySize: false,
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
      // Replaces the execute function only (a response-cache hit or an edge refusal still stops it
      // first); placed before the tracing plugins so their execute wrapper holds the compiled statement.
      ...(config.compiledReads ? [compiledReadsPlugin()] : []),
      // The edge (src/edge/, rate-limit.ts): traces, metrics, headers, CORS, limits, input checks.
      ...(tracing ? tracingPlugins() : []),
      securityHeadersPlugin(services),
      ...(metrics?.plugins ?? []),
      corsGuardPlugin(services),
      limitsPlugin(services, limits, '/graphql'),
      ...queryLimitPlugins(services),
      inputGuardPlugin(),
      cursorGuardPlugin(schema),
      loggingPlugin(logger),
      eventPublishPlugin(events),
      segmentExportPlugin(services),
      customerExportPlugin(services),
      importHttpPlugin(services),
      behaviourBeaconPlugin(services),
      sharedEventExecutionPlugin(),
      ...(services.caches?.responses ? [responseCachePlugin(services.caches.responses)] : []),
      // After every request parser (as Yoga places its own limit), so it wraps the one chosen.
      requestBodyLimitPlugin(config.limits.maxRequestBytes),
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
}
