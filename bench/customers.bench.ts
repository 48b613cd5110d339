/**
 * `pnpm bench`, first half (timeline.bench.ts follows): list customers through the GraphQL API vs. a
 * raw pg + node:http baseline.
 *
 * Env: BENCH_CUSTOMERS (100000), BENCH_DURATION (10 s), BENCH_WARMUP (3 s), BENCH_CONNECTIONS (10),
 * BENCH_POOL (10, both targets), BENCH_WORKERS (1: autocannon in a worker thread; 0: in-process),
 * BENCH_DATABASE_URL (admin URL; a fresh crm_bench_* database is created there and dropped;
 * PGlite in memory when unreachable), BENCH_BACKEND (auto | postgres | pglite),
 * BENCH_SHOW_SQL=1 prints the SQL the API sent for one request.
 */
import { commonOptions, finish, int } from './cli.ts';
import { report, runCustomersList } from './harness.ts';

const result = await runCustomersList({
  customers: int('BENCH_CUSTOMERS', 100_000),
  ...commonOptions(),
});
finish(result, 'customers-list', report);
