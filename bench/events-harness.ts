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
import { createShop } from '../packages/server/src/modules/shops/shop.service.ts';
import {
  type BenchDatabase,
  databaseLine,
  fmt,
  formatLoadTable,
  type LoadInfo,
  type LoadOptions,
  type LoadResult,
  load,
  loadAtRate,
  loadInfo,
  loadLine,
  loadPhase,
  type OpenOptions,
  type RequestSpec,
  type RunInfo,
  ranOn,
  recordApiSql,
  reporter,
  runInfo,
  serveRaw,
  startApi,
  type Target,
  withBenchDatabase,
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

export type EventsScenarioOptions = OpenOptions &
  LoadOptions & {
    /** Events per call. */
    batch: number;
    /** Events a second of the fixed-rate phase. */
    rate: number;
    log?: (line: string) => void;
  };

export type EventsResult = RunInfo & {
  scenario: 'behaviour-events';
  batch: number;
  rate: number;
  load: LoadInfo;
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
  return withBenchDatabase({ backend: opts.backend, adminUrl: opts.adminUrl, poolSize }, async (bench, track) => {
    log(databaseLine(bench));
    const api = await createShop(bench.db.prisma, { name: 'Events API shop' });
    const raw = await createShop(bench.db.prisma, { name: 'Events raw shop' });
    const beaconShop = await createShop(bench.db.prisma, { name: 'Events beacon shop' });
    const apiTarget = track(
      await startApi(bench.db, { BEHAVIOUR_EVENTS_PER_KEY: '1000000000', BEHAVIOUR_EVENTS_PER_VISITOR: '1000000000' }),
    );
    const rawTarget = track(await startEventsRaw(bench, raw.shop.id, poolSize));
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
    const apiSql = await recordApiSql(bench, apiTarget, request);
    // The beacon after the recording: its key's first use is touched in the background.
    const b = await fetch(beaconTarget.url, beaconReq);
    if (b.status !== 204) throw new Error(`beacon: HTTP ${b.status}: ${(await b.text()).slice(0, 500)}`);
    if ((await count(beaconShop.shop.id)) !== opts.batch) throw new Error('beacon: the batch was not written');
    log(`verified: both answer ${expected} and write the batch's rows; the API sent ${apiSql.length} SQL statements per call`);

    log(`sustained: ${opts.connections} connections, batches of ${opts.batch}, ${opts.warmup} s warm-up + ${opts.duration} s per target`);
    const apiBefore = await count(api.shop.id);
    const rawBefore = await count(raw.shop.id);
    const beaconBefore = await count(beaconShop.shop.id);
    const sustained = await loadPhase(apiTarget, rawTarget, request, { api: expected, raw: expected }, opts);
    // No body to compare (204): the rows are checked below.
    const beacon = await load(beaconTarget, beaconReq, '', opts);
    if (beacon.errors + beacon.timeouts + beacon.non2xx > 0) throw new Error(`beacon: ${JSON.stringify(beacon)}`);
    const perSecond = Math.max(1, Math.round(opts.rate / opts.batch));
    log(`fixed rate: ${opts.rate} events/s (${perSecond} calls/s of ${opts.batch}), ${opts.duration} s per target`);
    const atRate = { connections: opts.connections, duration: opts.duration, requestsPerSecond: perSecond };
    const apiAtRate = await loadAtRate(apiTarget, request, expected, atRate);
    const rawAtRate = await loadAtRate(rawTarget, request, expected, atRate);

    // Every 200 wrote its whole batch (warm-up calls included: counted from the rows' growth).
    const rows = {
      api: (await count(api.shop.id)) - apiBefore,
      raw: (await count(raw.shop.id)) - rawBefore,
      beacon: (await count(beaconShop.shop.id)) - beaconBefore,
    };
    const answered = (sustained.api.requests + apiAtRate.requests) * opts.batch;
    if (rows.api < answered) throw new Error(`the API answered ${answered / opts.batch} calls but wrote only ${rows.api} rows`);
    if (rows.beacon < beacon.requests * opts.batch)
      throw new Error(`the beacon answered ${beacon.requests} calls but wrote only ${rows.beacon} rows`);
    if (rows.api % opts.batch || rows.raw % opts.batch || rows.beacon % opts.batch)
      throw new Error(`a partial batch was written: ${JSON.stringify(rows)}`);
    const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
    return {
      scenario: 'behaviour-events',
      ...runInfo(bench),
      batch: opts.batch,
      rate: opts.rate,
      load: loadInfo(opts, poolSize),
      apiSql,
      ...sustained,
      beacon,
      apiAtRate,
      rawAtRate,
      eventsPerSecond: {
        api: sustained.api.rps * opts.batch,
        raw: sustained.raw.rps * opts.batch,
        ratio: ratio(sustained.api.rps, sustained.raw.rps),
        beacon: beacon.rps * opts.batch,
        beaconRatio: ratio(beacon.rps, sustained.raw.rps),
      },
      p99AtRate: { api: apiAtRate.p99, raw: rawAtRate.p99, ratio: ratio(apiAtRate.p99, rawAtRate.p99) },
      rows,
    };
  });
}

export function formatEventsReport(r: EventsResult): string {
  return [
    `behaviour-events: trackEvents in batches of ${r.batch}${ranOn(r)}`,
    loadLine(r, '', 'call'),
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

export const reportEvents = reporter(formatEventsReport);
