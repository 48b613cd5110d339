/**
 * Customer timeline: `customer(id) { timeline(first: 50) }` of one customer with BENCH_EVENTS
 * events (interactions, orders, stage and consent changes) through the GraphQL API vs. a raw
 * pg + node:http baseline running the same keyset UNION ALL page in one statement. Both answers are
 * verified equal (global ids, cursors, every field) before measuring; reports req/s, p50, p99 and
 * the API / raw ratios, and writes results/timeline.json.
 *
 *   pnpm --filter @crm/bench exec tsx timeline.bench.ts     (also the second half of `pnpm bench`)
 *
 * Env: BENCH_EVENTS (10000), BENCH_TIMELINE_CUSTOMERS (1000 other customers in the shop),
 * BENCH_DURATION (10 s), BENCH_WARMUP (3 s), BENCH_CONNECTIONS (10), BENCH_POOL (10, both targets),
 * BENCH_WORKERS (1: autocannon in a worker thread; 0: in-process), BENCH_DATABASE_URL (admin URL;
 * a fresh crm_bench_* database is created there and dropped; PGlite in memory when unreachable),
 * BENCH_BACKEND (auto | postgres | pglite), BENCH_SHOW_SQL=1 prints the SQL the API sent for one request.
 */
import { commonOptions, finish, int } from './cli.ts';
import { reportTimeline, runTimeline } from './timeline-harness.ts';

const result = await runTimeline({
  events: int('BENCH_EVENTS', 10_000),
  customers: int('BENCH_TIMELINE_CUSTOMERS', 1000),
  ...commonOptions(),
});
finish(result, 'timeline', reportTimeline);
