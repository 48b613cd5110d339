/**
 * Behaviour-event ingest (docs/behaviour.md): `trackEvents` batches through the GraphQL API (a
 * publishable key, validation, limits, one multi-row INSERT) versus a bare node:http handler that
 * inserts the same batch with one statement and no checks. Both are verified (same answer, the
 * batch's rows written with the right fields) before timing; then each target is loaded twice:
 * sustained (as fast as `connections` allow: events/s) and at a fixed rate (`rate` events/s:
 * latency). The same batch also goes through POST /events (the beacon: the same write path without
 * the GraphQL layer), sustained only, to tell the write's cost from the edge's. Nothing here
 * asserts on timings.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { createShop } from '../packages/server/src/modules/shops/shop.service.ts';
import {
  type BenchDatabase,
  fmt,
  formatLoadTable,
  type LoadResult,
  load,
  type OpenOptions,
  openBenchDatabase,
  type RequestSpec,
  serveRaw,
  startApi,
  type Target,
  writeJson,
} from './harness.ts';

export const TRACK_MUTATION = 'mutation($e:[BehaviourEventInput!]!){trackEvents(events:$e){__typename ...on TrackEventsPayload{accepted}}}';

/** One batch: `size` events of `visitors` visitors, a mix of the five types. */
export function batch(size: number, visitors = 10): Record<string, unknown>[] {
  const ids = Array.from({ length: visitors }, () => randomUUID());
  const session = randomUUID();
  const types = ['PAGE_VIEWED', 'PRODUCT_VIEWED', 'SEARCHED', 'ADDED_TO_CART', 'CHECKOUT_STARTED'] as const;
  return Array.from({ length: size }, (_, i) => {
    const type = types[i % types.length]!;
    return {
      type,
      visitorId: ids[i % visitors],
      sessionId: session,
      url: `https://shop.example/p/${i}?utm_source=bench`,
      referrer: 'https://search.example/',
      utmSource: 'bench',
      ...(type === 'PRODUCT_VIEWED' || type === 'ADDED_TO_CART' ? { sku: `SKU-${i % 50}` } : {}),
      ...(type === 'SEARCHED' ? { searchQuery: 'oak table' } : {}),
      ...(type === 'ADDED_TO_CART' ? { properties: { quantity: 1, price: '19.90' } } : {}),
    };
  });
}

export const trackRequest = (publishableKey: string, events: unknown[]): RequestSpec => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${publishableKey}` },
  body: JSON.stringify({ query: TRACK_MUTATION, variables: { e: events } }),
});

/** The same batch as the storefront's page-hide flush sends it: POST /events, text/plain JSON, the key in the query. */
export const beaconRequest = (events: unknown[]): RequestSpec => ({
  method: 'POST',
  headers: { 'content-type': 'text/plain;charset=UTF-8' },
  body: JSON.stringify({ events }),
});

/** The answer both targets give. */
export const trackBody = (n: number) => JSON.stringify({ data: { trackEvents: { __typename: 'TrackEventsPayload', accepted: n } } });

const RAW_INSERT = `
INSERT INTO "BehaviourEvent" ("shopId", "visitorId", "sessionId", "type", "occurredAt", "url", "referrer", "sku", "searchQuery", "utmSource", "properties")
SELECT $1::uuid, (e->>'visitorId')::uuid, (e->>'sessionId')::uuid, (e->>'type')::"BehaviourEventType", now(),
       e->>'url', e->>'referrer', e->>'sku', e->>'searchQuery', e->>'utmSource', COALESCE(e->'properties', '{}'::jsonb)
FROM jsonb_array_elements($2::jsonb) AS e`;

/** The baseline: parse the body, one INSERT of the batch, the same JSON answer; no auth, no validation, no limits. */
export function startEventsRaw(bench: Pick<BenchDatabase, 'db' | 'url'>, shopId: string, poolSize = 10): Promise<Target> {
  return serveRaw(bench, poolSize, async (body, runner) => {
    const events = (JSON.parse(body) as { variables: { e: unknown[] } }).variables.e;
    await runner.query(RAW_INSERT, [shopId, JSON.stringify(events)]);
    return trackBody(events.length);
  });
}

/** `duration` seconds at `requestsPerSecond` over all connections (autocannon's overallRate). */
async function loadAtRate(
  target: Target,
  request: RequestSpec,
  expectBody: string,
  opts: { connections: number; duration: number; requestsPerSecond: number },
) {
  const r = await new Promise<autocannon.Result & { mismatches?: number }>((resolve, reject) =>
    autocannon(
      {
        url: target.url,
        method: request.method,
        headers: request.headers,
        body: request.body,
        connections: opts.connections,
        overallRate: opts.requestsPerSecond,
        duration: opts.duration,
        timeout: 10,
        expectBody,
      } as Parameters<typeof autocannon>[0],
      (err, result) => (err ? reject(err) : resolve(result)),
    ),
  );
  return {
    target: target.name,
    requests: r.requests.total,
    seconds: r.duration,
    rps: r.duration > 0 ? r.requests.total / r.duration : 0,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    mismatches: r.mismatches ?? 0,
  } satisfies LoadResult;
}

export type EventsScenarioOptions = OpenOptions & {
  /** Events per call. */
  batch: number;
  /** Events a second of the fixed-rate phase. */
  rate: number;
  connections: number;
  duration: number;
  warmup: number;
  workers?: number;
  log?: (line: string) => void;
};

export type EventsResult = {
  scenario: 'behaviour-events';
  date: string;
  backend: 'postgres' | 'pglite';
  note?: string;
  node: string;
  batch: number;
  rate: number;
  load: { connections: number; duration: number; warmup: number; workers: number; poolSize: number };
  apiSql: string[];
  /** Sustained: as fast as the connections go. */
  api: LoadResult;
  raw: LoadResult;
  /** Sustained, the same batch through POST /events (the same write without the GraphQL layer). */
  beacon: LoadResult;
  /** At `rate` events a second. */
  apiAtRate: LoadResult;
  rawAtRate: LoadResult;
  eventsPerSecond: { api: number; raw: number; ratio: number; beacon: number; beaconRatio: number };
  p99AtRate: { api: number; raw: number; ratio: number };
  /** Rows written by each target under load (whole batches only: checked). */
  rows: { api: number; raw: number; beacon: number };
};

export async function runEvents(opts: EventsScenarioOptions): Promise<EventsResult> {
  const log = opts.log ?? (() => {});
  const poolSize = opts.poolSize ?? 10;
  const bench = await openBenchDatabase({ backend: opts.backend, adminUrl: opts.adminUrl, poolSize });
  const targets: Target[] = [];
  try {
    log(bench.note ?? `database: ${bench.kind}${bench.url ? ` (${new URL(bench.url).pathname.slice(1)})` : ''}`);
    const api = await createShop(bench.db.prisma, { name: 'Events API shop' });
    const raw = await createShop(bench.db.prisma, { name: 'Events raw shop' });
    const beaconShop = await createShop(bench.db.prisma, { name: 'Events beacon shop' });
    const apiTarget = await startApi(bench.db, { BEHAVIOUR_EVENTS_PER_KEY: '1000000000', BEHAVIOUR_EVENTS_PER_VISITOR: '1000000000' });
    targets.push(apiTarget);
    const rawTarget = await startEventsRaw(bench, raw.shop.id, poolSize);
    targets.push(rawTarget);
    const events = batch(opts.batch);
    const request = trackRequest(api.publishableKey, events);
    const expected = trackBody(opts.batch);
    const beaconTarget: Target = {
      name: 'beacon (POST /events)',
      url: `${apiTarget.url.replace(/\/graphql$/, '/events')}?key=${encodeURIComponent(beaconShop.publishableKey)}`,
      stop: async () => {},
    };
    const beaconReq = beaconRequest(events);
    const count = (shopId: string) => bench.db.prisma.behaviourEvent.count({ where: { shopId } });

    // Correctness first: one call each, the answer and the rows.
    for (const [t, shopId] of [
      [apiTarget, api.shop.id],
      [rawTarget, raw.shop.id],
    ] as const) {
      const res = await fetch(t.url, request);
      const text = await res.text();
      if (res.status !== 200 || text !== expected) throw new Error(`${t.name}: HTTP ${res.status}: ${text.slice(0, 500)}`);
      const rows = await bench.db.prisma.behaviourEvent.findMany({ where: { shopId }, orderBy: { id: 'asc' } });
      if (rows.length !== opts.batch) throw new Error(`${t.name}: ${rows.length} rows, expected ${opts.batch}`);
      const bad = rows.find((r, i) => {
        const e = events[i] as Record<string, unknown>;
        return r.visitorId !== e.visitorId || r.type !== e.type || r.url !== e.url || (r.sku ?? undefined) !== e.sku;
      });
      if (bad) throw new Error(`${t.name}: row ${bad.id} does not match its event`);
    }
    const stopRecording = bench.recordSql();
    await fetch(apiTarget.url, request).then((r) => r.text());
    const apiSql = stopRecording();
    // The beacon after the recording: its key's first use is touched in the background.
    const b = await fetch(beaconTarget.url, beaconReq);
    if (b.status !== 204) throw new Error(`beacon: HTTP ${b.status}: ${(await b.text()).slice(0, 500)}`);
    if ((await count(beaconShop.shop.id)) !== opts.batch) throw new Error('beacon: the batch was not written');
    log(`verified: both answer ${expected} and write the batch's rows; the API sent ${apiSql.length} SQL statements per call`);

    const loadOpts = { connections: opts.connections, duration: opts.duration, warmup: opts.warmup, workers: opts.workers };
    log(`sustained: ${opts.connections} connections, batches of ${opts.batch}, ${opts.warmup} s warm-up + ${opts.duration} s per target`);
    const apiBefore = await count(api.shop.id);
    const rawBefore = await count(raw.shop.id);
    const beaconBefore = await count(beaconShop.shop.id);
    const apiResult = await load(apiTarget, request, expected, loadOpts);
    const rawResult = await load(rawTarget, request, expected, loadOpts);
    // No body to compare (204): the rows are checked below.
    const beaconResult = await load(beaconTarget, beaconReq, '', loadOpts);
    if (beaconResult.errors + beaconResult.timeouts + beaconResult.non2xx > 0) throw new Error(`beacon: ${JSON.stringify(beaconResult)}`);
    const perSecond = Math.max(1, Math.round(opts.rate / opts.batch));
    log(`fixed rate: ${opts.rate} events/s (${perSecond} calls/s of ${opts.batch}), ${opts.duration} s per target`);
    const apiAtRate = await loadAtRate(apiTarget, request, expected, {
      connections: opts.connections,
      duration: opts.duration,
      requestsPerSecond: perSecond,
    });
    const rawAtRate = await loadAtRate(rawTarget, request, expected, {
      connections: opts.connections,
      duration: opts.duration,
      requestsPerSecond: perSecond,
    });

    // Every 200 wrote its whole batch (warm-up calls included: counted from the rows' growth).
    const rows = {
      api: (await count(api.shop.id)) - apiBefore,
      raw: (await count(raw.shop.id)) - rawBefore,
      beacon: (await count(beaconShop.shop.id)) - beaconBefore,
    };
    const answered = (apiResult.requests + apiAtRate.requests) * opts.batch;
    if (rows.api < answered) throw new Error(`the API answered ${answered / opts.batch} calls but wrote only ${rows.api} rows`);
    if (rows.beacon < beaconResult.requests * opts.batch)
      throw new Error(`the beacon answered ${beaconResult.requests} calls but wrote only ${rows.beacon} rows`);
    if (rows.api % opts.batch || rows.raw % opts.batch || rows.beacon % opts.batch)
      throw new Error(`a partial batch was written: ${JSON.stringify(rows)}`);
    const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
    return {
      scenario: 'behaviour-events',
      date: new Date().toISOString(),
      backend: bench.kind,
      ...(bench.note ? { note: bench.note } : {}),
      node: process.version,
      batch: opts.batch,
      rate: opts.rate,
      load: { connections: opts.connections, duration: opts.duration, warmup: opts.warmup, workers: opts.workers ?? 0, poolSize },
      apiSql,
      api: apiResult,
      raw: rawResult,
      beacon: beaconResult,
      apiAtRate,
      rawAtRate,
      eventsPerSecond: {
        api: apiResult.rps * opts.batch,
        raw: rawResult.rps * opts.batch,
        ratio: ratio(apiResult.rps, rawResult.rps),
        beacon: beaconResult.rps * opts.batch,
        beaconRatio: ratio(beaconResult.rps, rawResult.rps),
      },
      p99AtRate: { api: apiAtRate.p99, raw: rawAtRate.p99, ratio: ratio(apiAtRate.p99, rawAtRate.p99) },
      rows,
    };
  } finally {
    for (const t of targets.reverse()) await t.stop().catch(() => {});
    await bench.close();
  }
}

export function formatEventsReport(r: EventsResult): string {
  return [
    `behaviour-events: trackEvents in batches of ${r.batch} on ${r.backend}${r.note ? ` (${r.note})` : ''}, node ${r.node}`,
    `${r.load.connections} connections, ${r.load.warmup} s warm-up + ${r.load.duration} s each, pool ${r.load.poolSize}; API used ${r.apiSql.length} SQL statements per call`,
    '',
    'sustained:',
    // formatLoadTable names every target but the API "raw": the last row is the beacon.
    ...formatLoadTable([r.api, r.raw, r.beacon]).map((line, i) =>
      i === 4 ? line.replace('raw pg + node:http', 'beacon /events'.padEnd(18)) : line,
    ),
    '',
    `at ${r.rate} events/s:`,
    ...formatLoadTable([r.apiAtRate, r.rawAtRate]),
    '',
    `events/s sustained: API ${fmt(r.eventsPerSecond.api, 0)}, raw ${fmt(r.eventsPerSecond.raw, 0)} (API / raw ${fmt(r.eventsPerSecond.ratio, 2)}x); target >= 5,000`,
    `events/s sustained through POST /events (no GraphQL layer): ${fmt(r.eventsPerSecond.beacon, 0)} (beacon / raw ${fmt(r.eventsPerSecond.beaconRatio, 2)}x)`,
    `p99 at ${r.rate} events/s: API ${fmt(r.p99AtRate.api, 1)} ms, raw ${fmt(r.p99AtRate.raw, 1)} ms (API / raw ${fmt(r.p99AtRate.ratio, 2)}x); target < 50 ms`,
    `rows written: API ${r.rows.api}, raw ${r.rows.raw}, beacon ${r.rows.beacon} (whole batches only)`,
  ].join('\n');
}

export function reportEvents(r: EventsResult, opts: { jsonPath?: string; print?: (s: string) => void } = {}): string {
  const text = formatEventsReport(r);
  (opts.print ?? console.log)(text);
  if (opts.jsonPath) writeJson(opts.jsonPath, r);
  return text;
}
