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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportAgenda, runAgenda } from './agenda-harness.ts';
import { closeAllBenchDatabases, DEFAULT_ADMIN_URL } from './harness.ts';

const env = process.env;
const int = (name: string, fallback: number) => {
  const v = env[name];
  if (v == null || v === '') return fallback;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${v}"`);
  return n;
};
const backend = (env.BENCH_BACKEND ?? 'auto') as 'auto' | 'postgres' | 'pglite';
if (!['auto', 'postgres', 'pglite'].includes(backend)) throw new Error('BENCH_BACKEND must be auto, postgres or pglite');

// Interrupted: drop the bench database before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n[bench] ${signal}: dropping the bench database`);
    void closeAllBenchDatabases().finally(() => process.exit(130));
  });
}

const result = await runAgenda({
  followUps: int('BENCH_FOLLOW_UPS', 5000),
  customers: int('BENCH_AGENDA_CUSTOMERS', 1000),
  duration: int('BENCH_DURATION', 10),
  warmup: int('BENCH_WARMUP', 3),
  connections: int('BENCH_CONNECTIONS', 10),
  poolSize: int('BENCH_POOL', 10),
  workers: int('BENCH_WORKERS', 1),
  backend,
  adminUrl: env.BENCH_DATABASE_URL ?? DEFAULT_ADMIN_URL,
  log: (line) => console.log(`[bench] ${line}`),
});
if (env.BENCH_SHOW_SQL === '1')
  console.log(`\nSQL sent by the API for one request:\n${result.apiSql.map((s, i) => `${i + 1}. ${s}`).join('\n')}\n`);
const jsonPath = join(dirname(fileURLToPath(import.meta.url)), 'results', 'agenda.json');
console.log('');
reportAgenda(result, { jsonPath });
console.log(`\nwritten: ${jsonPath}`);
const bad = [result.api, result.raw].filter((x) => x.errors + x.timeouts + x.non2xx + x.mismatches > 0);
if (bad.length) {
  console.error(`\nFAILED: ${bad.map((x) => x.target).join(', ')} had errors, timeouts, non-2xx or mismatched responses under load`);
  process.exitCode = 1;
}
