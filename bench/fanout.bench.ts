/**
 * Subscription fan-out: BENCH_SUBSCRIBERS (1000) graphql-ws subscribers to `leadCreated` on one
 * instance, then BENCH_LEADS (200) leads captured through the API, BENCH_CONCURRENCY (4) at a time.
 * Reports p50/p90/p99 delivery latency (captureLead request start -> event received) and
 * deliveries/s; writes results/fanout.json. No assertions.
 *
 *   pnpm --filter @crm/bench exec tsx --max-semi-space-size=64 fanout.bench.ts     (also part of `pnpm bench`)
 *
 * The server runs in this process: `--max-semi-space-size=64` is the young-generation size the
 * server's start script uses (see the README's fan-out figures); without it the figures are the
 * default heap's.
 *
 * The subscribers run in a separate process (BENCH_CLIENTS=process, default) or inside the server's
 * process (BENCH_CLIENTS=inline, the set-up of the first version of this bench).
 *
 * Env: BENCH_DATABASE_URL (admin URL; a fresh crm_bench_* database is created and dropped; PGlite
 * in memory when unreachable), BENCH_BACKEND (auto | postgres | pglite), BENCH_POOL (10).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatFanout, runFanout } from './fanout-harness.ts';
import { closeAllBenchDatabases, DEFAULT_ADMIN_URL } from './harness.ts';

const env = process.env;
const int = (name: string, fallback: number) => {
  const n = Number((env[name] ?? '').replace(/_/g, '') || fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
};
try {
  const result = await runFanout({
    subscribers: int('BENCH_SUBSCRIBERS', 1000),
    leads: int('BENCH_LEADS', 200),
    concurrency: int('BENCH_CONCURRENCY', 4),
    poolSize: int('BENCH_POOL', 10),
    backend: (env.BENCH_BACKEND ?? 'auto') as 'auto' | 'postgres' | 'pglite',
    adminUrl: env.BENCH_DATABASE_URL ?? DEFAULT_ADMIN_URL,
    clients: env.BENCH_CLIENTS === 'inline' ? 'inline' : 'process',
  });
  console.log(formatFanout(result));
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'fanout.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ ...result, at: new Date().toISOString() }, null, 2)}\n`);
} finally {
  await closeAllBenchDatabases();
}
process.exit(0);
