import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Services } from '../context.ts';
import { type PassObserver, passObservers } from '../periodic.ts';

/**
 * Prometheus metrics at /metrics: requests, latency and errors by operation (the Yoga/envelop
 * Prometheus plugin), plus this product's own gauges and counters, read when scraped: event-bus
 * subscribers and lag, webhook queue depth and failures, scheduler runs and durations, and the
 * database pool. One registry per app. With METRICS_TOKEN set, /metrics needs
 * `Authorization: Bearer <METRICS_TOKEN>`; without it, bind or firewall the port (docs/observability.md).
 */
export type Metrics = { registry: Registry; plugins: Plugin[]; close(): void };

export function createMetrics(services: Services): Metrics {
  const registry = new Registry();
  const { database, events } = services;
  collectDefaultMetrics({ register: registry, prefix: 'crm_process_' });

  new Gauge({
    name: 'crm_subscriptions',
    help: 'Live GraphQL subscriptions (event streams) on this instance',
    registers: [registry],
    collect() {
      this.set(events.tailStats().reduce((n, t) => n + t.subscribers, 0));
    },
  });
  new Gauge({
    name: 'crm_event_bus_lag_events',
    help: 'Events written but not yet read by this instance for its live subscribers (summed over shops)',
    registers: [registry],
    async collect() {
      const tails = events.tailStats().filter((t) => t.subscribers > 0 && t.head !== null);
      if (!tails.length) return this.set(0);
      const latest = await database.prisma.event.groupBy({
        by: ['shopId'],
        where: { shopId: { in: tails.map((t) => t.shopId) } },
        _max: { id: true },
      });
      const max = new Map(latest.map((l) => [l.shopId, l._max.id ?? 0n]));
      this.set(tails.reduce((n, t) => n + Number((max.get(t.shopId) ?? 0n) - (t.head ?? 0n)), 0));
    },
  });
  new Gauge({
    name: 'crm_webhook_deliveries',
    help: 'Webhook deliveries by status: PENDING is the queue (retrying when attempts > 0), FAILED gave up',
    labelNames: ['status', 'retrying'],
    registers: [registry],
    async collect() {
      const rows = await database.prisma.webhookDelivery.groupBy({
        by: ['status'],
        where: { status: { in: ['PENDING', 'FAILED'] } },
        _count: { _all: true },
      });
      const retrying = await database.prisma.webhookDelivery.count({ where: { status: 'PENDING', attempts: { gt: 0 } } });
      this.reset();
      for (const s of ['PENDING', 'FAILED']) this.set({ status: s, retrying: 'any' }, rows.find((r) => r.status === s)?._count._all ?? 0);
      this.set({ status: 'PENDING', retrying: 'yes' }, retrying);
    },
  });
  const runs = new Counter({
    name: 'crm_scheduler_runs_total',
    help: 'Background scheduler passes by scheduler and outcome',
    labelNames: ['scheduler', 'outcome'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'crm_scheduler_duration_seconds',
    help: 'Background scheduler pass durations',
    labelNames: ['scheduler'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [registry],
  });
  const observer: PassObserver = (name, seconds, ok) => {
    runs.inc({ scheduler: name, outcome: ok ? 'ok' : 'failed' });
    durations.observe({ scheduler: name }, seconds);
  };
  passObservers.add(observer);
  new Gauge({
    name: 'crm_db_pool_connections',
    help: 'Database pool connections by state (PostgreSQL only)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const p = database.pool;
      if (!p) return;
      this.set({ state: 'total' }, p.totalCount);
      this.set({ state: 'idle' }, p.idleCount);
      this.set({ state: 'waiting' }, p.waitingCount);
    },
  });

  const token = services.config.metrics.token;
  const serve: Plugin = {
    async onRequest({ url, request, endResponse, fetchAPI }) {
      if (url.pathname !== '/metrics') return;
      if (token && request.headers.get('authorization') !== `Bearer ${token}`) {
        endResponse(new fetchAPI.Response('Unauthorized\n', { status: 401, headers: { 'www-authenticate': 'Bearer' } }));
        return;
      }
      const body = await registry.metrics().catch((err) => `# metrics collection failed: ${String(err).slice(0, 200)}\n`);
      endResponse(new fetchAPI.Response(body, { status: 200, headers: { 'content-type': registry.contentType } }));
    },
  };
  return {
    registry,
    plugins: [
      serve,
      usePrometheus({
        registry,
        endpoint: false,
        labels: { method: true, statusCode: true },
        metrics: {
          graphql_yoga_http_duration: true,
          graphql_envelop_request: true,
          graphql_envelop_request_duration: true,
          graphql_envelop_error_result: true,
          graphql_envelop_phase_parse: true,
          graphql_envelop_phase_validate: true,
          graphql_envelop_phase_execute: true,
          // Off (the plugin's defaults have them on): the deprecated-field counter walks every
          // request's document with a TypeInfo, the time summary keeps a t-digest per operation;
          // together several per cent of a small read's CPU (bench/README.md, "Peer comparison").
          graphql_envelop_deprecated_field: false,
          graphql_envelop_request_time_summary: false,
          graphql_envelop_phase_context: false,
        },
      }),
    ],
    close() {
      passObservers.delete(observer);
    },
  };
}
