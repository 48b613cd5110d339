/**
 * Loyalty: the full set-based recompute of CustomerMetrics (RFM, values, the seven indicators,
 * loyalty score, churn warning) for every customer of a shop, through the module vs. the same SQL
 * sent raw; the incremental refresh of one customer; the shopKpis statement through the module vs.
 * raw. Reports medians and module / raw ratios and writes results/loyalty.json.
 *
 *   pnpm --filter @crm/bench exec tsx loyalty.bench.ts     (also part of `pnpm bench`)
 *
 * Env: BENCH_LOYALTY_CUSTOMERS (100000), BENCH_LOYALTY_INTERACTIONS (1000000), BENCH_LOYALTY_ROUNDS (3),
 * BENCH_DATABASE_URL, BENCH_BACKEND (auto | postgres | pglite).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commonOptions, int } from './cli.ts';
import { reportLoyalty, runLoyalty } from './loyalty-harness.ts';

const common = commonOptions();
const result = await runLoyalty({
  customers: int('BENCH_LOYALTY_CUSTOMERS', 100_000),
  interactions: int('BENCH_LOYALTY_INTERACTIONS', 1_000_000),
  rounds: Math.max(1, int('BENCH_LOYALTY_ROUNDS', 3)),
  backend: common.backend,
  adminUrl: common.adminUrl,
  poolSize: common.poolSize,
  log: common.log,
});
console.log('');
const jsonPath = join(dirname(fileURLToPath(import.meta.url)), 'results', 'loyalty.json');
reportLoyalty(result, { jsonPath });
console.log(`\nwritten: ${jsonPath}`);
