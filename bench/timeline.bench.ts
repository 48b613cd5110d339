/**
 * Customer timeline under load: `customer(id) { timeline(first: 50) }` for one customer with many
 * events (interactions, orders, stage and consent changes), through the real API. Reports req/s,
 * p50/p99 and the SQL statements of one request (constant: the keyset UNION ALL plus one query per
 * kind, whatever the number of events). There is no raw baseline yet: compare runs on one machine.
 *
 *   pnpm --filter @crm/bench exec tsx timeline.bench.ts
 *
 * Env: BENCH_EVENTS (20000 interactions; orders are a fifth of that), BENCH_CUSTOMERS (1000),
 * BENCH_DURATION (10 s), BENCH_WARMUP (3 s), BENCH_CONNECTIONS (10), BENCH_WORKERS (1),
 * BENCH_DATABASE_URL, BENCH_BACKEND (auto | postgres | pglite).
 */
import { DEFAULT_ADMIN_URL, load, openBenchDatabase, type RequestSpec, seed, startApi } from './harness.ts';

const env = process.env;
const int = (name: string, fallback: number) => {
  const v = env[name];
  const n = v == null || v === '' ? fallback : Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${v}"`);
  return n;
};
const backend = (env.BENCH_BACKEND ?? 'auto') as 'auto' | 'postgres' | 'pglite';
const events = int('BENCH_EVENTS', 20_000);
const log = (line: string) => console.log(`[bench] ${line}`);

const TIMELINE_QUERY = `query($id: ID!) { customer(id: $id) { timeline(first: 50) {
  pageInfo { hasNextPage endCursor }
  edges { cursor at kind node { __typename ... on Interaction { id type channel } ... on Order { id externalId total }
    ... on StageTransition { toStage } ... on ConsentChange { consentChannel: channel granted } } } } } }`;

const bench = await openBenchDatabase({ backend, adminUrl: env.BENCH_DATABASE_URL ?? DEFAULT_ADMIN_URL, poolSize: 10 });
try {
  log(bench.note ?? `database: ${bench.kind}`);
  const seeded = await seed(bench.db, { customers: int('BENCH_CUSTOMERS', 1000) });
  const [customer] = await bench.db.sql.query<{ id: string }>(`SELECT id FROM "Customer" WHERE "shopId" = $1 ORDER BY id LIMIT 1`, [
    seeded.shopId,
  ]);
  if (!customer) throw new Error('no customer seeded');
  const started = performance.now();
  await bench.db.sql.query(
    `INSERT INTO "Interaction" ("shopId", "customerId", "channel", "direction", "type", "occurredAt")
     SELECT $1::uuid, $2::uuid, 'EMAIL', 'INBOUND', 'MESSAGE', timestamptz '2026-01-01' - make_interval(mins => g)
     FROM generate_series(1, $3::int) g`,
    [seeded.shopId, customer.id, events],
  );
  await bench.db.sql.query(
    `INSERT INTO "Order" ("shopId", "customerId", "externalId", "placedAt", "currency", "subtotal", "total")
     SELECT $1::uuid, $2::uuid, 'bench-' || g, timestamptz '2026-01-01' - make_interval(mins => g * 5), 'EUR', 10, 10
     FROM generate_series(1, $3::int) g`,
    [seeded.shopId, customer.id, Math.floor(events / 5)],
  );
  await bench.db.sql.exec('ANALYZE');
  log(`seeded ${events} interactions and ${Math.floor(events / 5)} orders in ${Math.round(performance.now() - started)} ms`);

  const api = await startApi(bench.db);
  try {
    const request: RequestSpec = {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${seeded.secretKey}` },
      body: JSON.stringify({ query: TIMELINE_QUERY, variables: { id: Buffer.from(`Customer:${customer.id}`).toString('base64') } }),
    };
    await fetch(api.url, request); // warms the key's last-use update
    const stop = bench.recordSql();
    const res = await fetch(api.url, request);
    const sql = stop();
    const body = await res.text();
    const json = JSON.parse(body) as { data?: { customer?: { timeline?: { edges: unknown[] } } }; errors?: unknown[] };
    if (res.status !== 200 || json.errors?.length || json.data?.customer?.timeline?.edges.length !== 50) {
      throw new Error(`unexpected response (HTTP ${res.status}): ${body.slice(0, 500)}`);
    }
    const result = await load(api, request, body, {
      connections: int('BENCH_CONNECTIONS', 10),
      duration: int('BENCH_DURATION', 10),
      warmup: int('BENCH_WARMUP', 3),
      workers: int('BENCH_WORKERS', 1),
    });
    console.log(
      JSON.stringify({ scenario: 'customer-timeline', backend: bench.kind, events, sqlStatements: sql.length, ...result }, null, 2),
    );
    if (result.errors + result.timeouts + result.non2xx + result.mismatches > 0) process.exitCode = 1;
  } finally {
    await api.stop();
  }
} finally {
  await bench.close();
}
