/**
 * Peer comparison: the GraphQL API vs. PostGraphile v5 (stock amber preset) vs. the raw pg +
 * node:http baseline on one PostgreSQL bench database, each server in its own process: the
 * customers list (with and without totalCount), one customer with its last 20 orders, and a
 * timeline page. Answers are verified equal before timing; rounds are interleaved; prints req/s,
 * p50, p99 and server CPU per request with the API's ratios to the peer and to raw, and writes
 * results/peer.json (results/peer-cache.json with BENCH_RESPONSE_CACHE=1).
 *
 *   pnpm --filter @crm/bench exec tsx peer.bench.ts     (also part of `pnpm bench`)
 *
 * Env: BENCH_PEER_CUSTOMERS (100000), BENCH_EVENTS (1000 timeline events of the measured customer),
 * BENCH_PEER_ROUNDS (3), BENCH_DURATION (5 s per query, target and round), BENCH_WARMUP (1 s),
 * BENCH_CONNECTIONS (10), BENCH_POOL (10, every target), BENCH_WORKERS (1), BENCH_DATABASE_URL
 * (admin URL; PostgreSQL only: PostGraphile needs a server), BENCH_PEER_QUERIES (comma-separated
 * subset of customers,customersCount,customerOrders,timeline), BENCH_RESPONSE_CACHE=1 (the API with
 * its response cache on).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commonOptions, int } from './cli.ts';
import { reportPeer, runPeer } from './peer-harness.ts';
import { PEER_QUERY_NAMES, type PeerQueryName } from './peer-queries.ts';

const env = process.env;
const common = commonOptions();
const queries = env.BENCH_PEER_QUERIES ? (env.BENCH_PEER_QUERIES.split(',') as PeerQueryName[]) : PEER_QUERY_NAMES;
for (const q of queries) if (!PEER_QUERY_NAMES.includes(q)) throw new Error(`BENCH_PEER_QUERIES: unknown query ${q}`);
const cache = env.BENCH_RESPONSE_CACHE === '1';
const result = await runPeer({
  customers: int('BENCH_PEER_CUSTOMERS', 100_000),
  events: int('BENCH_EVENTS', 1000),
  rounds: int('BENCH_PEER_ROUNDS', 3),
  duration: int('BENCH_DURATION', 5),
  warmup: int('BENCH_WARMUP', 1),
  connections: common.connections,
  poolSize: common.poolSize,
  workers: common.workers,
  adminUrl: common.adminUrl,
  queries,
  apiEnv: cache ? { RESPONSE_CACHE_MS: '60000' } : {},
  log: common.log,
});
const jsonPath = join(dirname(fileURLToPath(import.meta.url)), 'results', cache ? 'peer-cache.json' : 'peer.json');
console.log('');
reportPeer(result, { jsonPath });
console.log(`\nwritten: ${jsonPath}`);
const bad = result.queries.flatMap((q) =>
  q.targets.filter((t) => t.errors + t.non2xx + t.mismatches > 0).map((t) => `${q.query}/${t.target}`),
);
if (bad.length) {
  console.error(`\nFAILED: ${bad.join(', ')} had errors, non-2xx or mismatched responses under load`);
  process.exitCode = 1;
}
