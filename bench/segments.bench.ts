/**
 * `pnpm bench`, segments scenario: member count and first page (50) of 3 representative rules,
 * compiled (as previewSegment runs them) vs. the same SQL hand-written on the driver.
 *
 * With BENCH_BEHAVIOUR_EVENTS (1000000; 0 = none) storefront behaviour events are seeded too and a
 * fourth rule (`events`: events.count / events.lastSeen) is measured against its hand-written SQL.
 *
 * Env: BENCH_CUSTOMERS (100000), BENCH_BEHAVIOUR_EVENTS (1000000), BENCH_ITERATIONS (30), BENCH_WARMUP (3), BENCH_DATABASE_URL,
 * BENCH_BACKEND (auto | postgres | pglite).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { int } from './cli.ts';
import { closeAllBenchDatabases, DEFAULT_ADMIN_URL } from './harness.ts';
import { reportSegments, runSegments } from './segments-harness.ts';

const backend = (process.env.BENCH_BACKEND ?? 'auto') as 'auto' | 'postgres' | 'pglite';
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void closeAllBenchDatabases().finally(() => process.exit(130));
  });
}
const result = await runSegments({
  customers: int('BENCH_CUSTOMERS', 100_000),
  behaviourEvents: int('BENCH_BEHAVIOUR_EVENTS', 1_000_000),
  iterations: int('BENCH_ITERATIONS', 30),
  warmup: int('BENCH_WARMUP', 3),
  backend,
  adminUrl: process.env.BENCH_DATABASE_URL ?? DEFAULT_ADMIN_URL,
  log: (line) => console.log(`[bench] ${line}`),
});
const jsonPath = join(dirname(fileURLToPath(import.meta.url)), 'results', 'segments.json');
console.log('');
reportSegments(result, { jsonPath });
console.log(`\nwritten: ${jsonPath}`);
