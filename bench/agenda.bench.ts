/**
 * Agenda: `agenda(first: 50)` with overdue / due-today / upcoming counts of an agent with
 * BENCH_FOLLOW_UPS follow-ups (x-crm-staff-id) through the GraphQL API vs. a raw pg + node:http
 * baseline computing counts and page in one statement. Both answers are verified equal (global
 * ids, cursors, sections, counts) before measuring; reports req/s, p50, p99 and the API / raw
 * ratios, and writes results/agenda.json.
 *
 *   pnpm --filter @crm/bench exec tsx agenda.bench.ts     (also part of `pnpm bench`)
 *
 * Env: BENCH_FOLLOW_UPS (5000; every 10th DONE, plus half as many of another agent),
 * BENCH_AGENDA_CUSTOMERS (1000), BENCH_DURATION (10 s), BENCH_WARMUP (3 s), BENCH_CONNECTIONS (10),
 * BENCH_POOL (10), BENCH_WORKERS (1), BENCH_DATABASE_URL, BENCH_BACKEND (auto | postgres | pglite),
 * BENCH_SHOW_SQL=1 prints the SQL the API sent for one request.
 */
import { reportAgenda, runAgenda } from './agenda-harness.ts';
import { commonOptions, finish, int } from './cli.ts';

const result = await runAgenda({
  followUps: int('BENCH_FOLLOW_UPS', 5000),
  customers: int('BENCH_AGENDA_CUSTOMERS', 1000),
  ...commonOptions(),
});
finish(result, 'agenda', reportAgenda);
