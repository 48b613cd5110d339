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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeAllBenchDatabases, DEFAULT_ADMIN_URL, report, runCustomersList } from './harness.ts';

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

const result = await runCustomersList({
  customers: int('BENCH_CUSTOMERS', 100_000),
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
const jsonPath = join(dirname(fileURLToPath(import.meta.url)), 'results', 'customers-list.json');
console.log('');
report(result, { jsonPath });
console.log(`\nwritten: ${jsonPath}`);
const bad = [result.api, result.raw].filter((x) => x.errors + x.timeouts + x.non2xx + x.mismatches > 0);
if (bad.length) {
  console.error(`\nFAILED: ${bad.map((x) => x.target).join(', ')} had errors, timeouts, non-2xx or mismatched responses under load`);
  process.exitCode = 1;
}
