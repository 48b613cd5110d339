/**
 * Subscription fan-out: BENCH_SUBSCRIBERS (1000) graphql-ws subscribers to `leadCreated` on one
 * instance, then BENCH_LEADS (200) leads captured through the API: one at a time (each lead's own
 * fan-out), then 4 at a time (sustained load); BENCH_CONCURRENCY=n runs only n at a time.
 * Reports p50/p90/p99 delivery latency (captureLead request start -> event received),
 * deliveries/s and the server's CPU per delivery; writes results/fanout.json. No assertions.
 *
 * On PostgreSQL both rounds run twice: with the leads captured by the subscribers' server itself
 * (its CPU per delivery includes the 200 mutations), then captured by a second API instance in its
 * own process on the same database (BENCH_WRITER=instance: the server's CPU per delivery is the
 * delivery path alone; the writer's CPU per lead is reported beside it). BENCH_WRITER=same or
 * =instance runs only that one. BENCH_CPU_PROFILE=<path prefix> writes a V8 CPU profile of the
 * server's process per round (first lead to last delivery) to <prefix>-<writer>-<concurrency>.cpuprofile.
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
import { closeAllBenchDatabases, DEFAULT_ADMIN_URL, postgresReachable } from './harness.ts';

const env = process.env;
const int = (name: string, fallback: number) => {
  const n = Number((env[name] ?? '').replace(/_/g, '') || fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
};
try {
  // Two rounds unless BENCH_CONCURRENCY is set: the scenario (each new lead fanned out on
  // its own, one lead in flight at a time) and a sustained load (4 leads in flight, so each
  // delivery also queues behind the fan-out of the leads before it).
  const rounds = env.BENCH_CONCURRENCY ? [int('BENCH_CONCURRENCY', 4)] : [1, 4];
  const backend = (env.BENCH_BACKEND ?? 'auto') as 'auto' | 'postgres' | 'pglite';
  const adminUrl = env.BENCH_DATABASE_URL ?? DEFAULT_ADMIN_URL;
  const writerEnv = env.BENCH_WRITER as 'same' | 'instance' | undefined;
  if (writerEnv && writerEnv !== 'same' && writerEnv !== 'instance') throw new Error('BENCH_WRITER must be same or instance');
  // A second instance needs a database both processes reach: PostgreSQL.
  const writers: ('same' | 'instance')[] = writerEnv
    ? [writerEnv]
    : backend !== 'pglite' && (await postgresReachable(adminUrl))
      ? ['same', 'instance']
      : ['same'];
  const results = [];
  for (const writer of writers) {
    for (const concurrency of rounds) {
      const result = await runFanout({
        subscribers: int('BENCH_SUBSCRIBERS', 1000),
        leads: int('BENCH_LEADS', 200),
        concurrency,
        poolSize: int('BENCH_POOL', 10),
        backend,
        adminUrl,
        clients: env.BENCH_CLIENTS === 'inline' ? 'inline' : 'process',
        writer,
        profile: env.BENCH_CPU_PROFILE ? `${env.BENCH_CPU_PROFILE}-${writer}-${concurrency}.cpuprofile` : undefined,
      });
      const what = concurrency === 1 ? 'one lead at a time' : `${concurrency} leads in flight`;
      console.log(`\n[${what}${writer === 'instance' ? ', leads captured on a second instance' : ''}]`);
      console.log(formatFanout(result));
      console.log(`  target p99 < 250 ms: ${result.latencyMs.p99 < 250 ? 'met' : 'NOT met'} (${result.latencyMs.p99.toFixed(1)} ms)`);
      results.push({ concurrency, ...result });
    }
  }
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'fanout.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ rounds: results, at: new Date().toISOString() }, null, 2)}\n`);
} finally {
  await closeAllBenchDatabases();
}
process.exit(0);
