/**
 * Bulk import: 100,000 customers then 200,000 orders through POST /imports + startImport, against
 * the same rows inserted raw in the same run, and the p99 of customers(first: 50) of another shop
 * during the import vs idle. Writes results/import.json.
 *
 *   pnpm --filter @crm/bench exec tsx import.bench.ts
 *
 * Env: BENCH_IMPORT_CUSTOMERS (100000), BENCH_IMPORT_ORDERS (200000), BENCH_IMPORT_BATCH_ROWS (the
 * server's IMPORT_BATCH_ROWS default), BENCH_IMPORT_READ_RATE (the other shop's reads per second,
 * open loop, default 50; 0: back to back), BENCH_IMPORT_WORKER=0 (every import in the API's thread,
 * to compare with the worker process), BENCH_IMPORT_CLIENTS=inline (the uploader and the reader in the
 * API's process instead of their own, to compare), BENCH_IMPORT_CLIENT_SESSION=bench (their process in
 * the bench's session instead of one of its own, to compare), BENCH_DATABASE_URL, BENCH_BACKEND.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commonOptions, int } from './cli.ts';
import { formatImportReport, runImportBench } from './import-harness.ts';

const common = commonOptions();
const result = await runImportBench({
  customers: int('BENCH_IMPORT_CUSTOMERS', 100_000),
  orders: int('BENCH_IMPORT_ORDERS', 200_000),
  batchRows: process.env.BENCH_IMPORT_BATCH_ROWS ? int('BENCH_IMPORT_BATCH_ROWS', 2000) : undefined,
  readRate: int('BENCH_IMPORT_READ_RATE', 50),
  worker: process.env.BENCH_IMPORT_WORKER !== '0',
  clients: process.env.BENCH_IMPORT_CLIENTS === 'inline' ? 'inline' : 'process',
  backend: common.backend,
  adminUrl: common.adminUrl,
  poolSize: common.poolSize,
  log: common.log,
});
console.log(formatImportReport(result));
const jsonPath = join(dirname(fileURLToPath(import.meta.url)), 'results', 'import.json');
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nwritten: ${jsonPath}`);
