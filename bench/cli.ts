import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeAllBenchDatabases, DEFAULT_ADMIN_URL } from './harness.ts';

/**
 * What every scenario's command line shares: reading BENCH_* settings, dropping the bench database
 * when interrupted, and printing/writing the result with a failing exit code when any response
 * under load was an error or did not match the verified body.
 */
const env = process.env;

export function int(name: string, fallback: number): number {
  const v = env[name];
  if (v == null || v === '') return fallback;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${v}"`);
  return n;
}

/** Load settings common to all scenarios (BENCH_DURATION, BENCH_WARMUP, ...). */
export function commonOptions() {
  const backend = (env.BENCH_BACKEND ?? 'auto') as 'auto' | 'postgres' | 'pglite';
  if (!['auto', 'postgres', 'pglite'].includes(backend)) throw new Error('BENCH_BACKEND must be auto, postgres or pglite');
  // Interrupted: drop the bench database before leaving.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n[bench] ${signal}: dropping the bench database`);
      void closeAllBenchDatabases().finally(() => process.exit(130));
    });
  }
  return {
    duration: int('BENCH_DURATION', 10),
    warmup: int('BENCH_WARMUP', 3),
    connections: int('BENCH_CONNECTIONS', 10),
    poolSize: int('BENCH_POOL', 10),
    workers: int('BENCH_WORKERS', 1),
    backend,
    adminUrl: env.BENCH_DATABASE_URL ?? DEFAULT_ADMIN_URL,
    log: (line: string) => console.log(`[bench] ${line}`),
  };
}

type Target = { target: string; errors: number; timeouts: number; non2xx: number; mismatches: number };

/** Prints the SQL (BENCH_SHOW_SQL=1) and the report, writes results/<name>.json, flags bad runs. */
export function finish<R extends { apiSql: string[]; api: Target; raw: Target }>(
  result: R,
  name: string,
  report: (result: R, opts: { jsonPath: string }) => void,
) {
  if (env.BENCH_SHOW_SQL === '1')
    console.log(`\nSQL sent by the API for one request:\n${result.apiSql.map((s, i) => `${i + 1}. ${s}`).join('\n')}\n`);
  const jsonPath = join(dirname(fileURLToPath(import.meta.url)), 'results', `${name}.json`);
  console.log('');
  report(result, { jsonPath });
  console.log(`\nwritten: ${jsonPath}`);
  const bad = [result.api, result.raw].filter((x) => x.errors + x.timeouts + x.non2xx + x.mismatches > 0);
  if (bad.length) {
    console.error(`\nFAILED: ${bad.map((x) => x.target).join(', ')} had errors, timeouts, non-2xx or mismatched responses under load`);
    process.exitCode = 1;
  }
}
