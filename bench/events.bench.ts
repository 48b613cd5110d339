/**
 * Behaviour-event ingest: `trackEvents` batches (publishable key) through the GraphQL API vs. a
 * bare pg + node:http handler inserting the same batch with one statement. Both verified (answer and
 * rows) before measuring; sustained events/s and p99 at a fixed rate, with API / raw ratios; writes
 * results/events.json. Targets (issue 19): >= 5,000 events/s sustained, p99 < 50 ms at 1,000 events/s.
 *
 *   pnpm --filter @crm/bench exec tsx events.bench.ts
 *
 * Env: BENCH_EVENTS_BATCH (20, the tracker's default batch), BENCH_EVENTS_RATE (1000 events/s),
 * BENCH_DURATION (10 s), BENCH_WARMUP (3 s), BENCH_CONNECTIONS (10), BENCH_POOL (10),
 * BENCH_WORKERS (1), BENCH_DATABASE_URL, BENCH_BACKEND (auto | postgres | pglite).
 */
import { commonOptions, finish, int } from './cli.ts';
import { reportEvents, runEvents } from './events-harness.ts';

const result = await runEvents({
  batch: int('BENCH_EVENTS_BATCH', 20),
  rate: int('BENCH_EVENTS_RATE', 1000),
  ...commonOptions(),
});
finish(result, 'events', reportEvents);
