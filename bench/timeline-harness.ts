/**
 * Benchmark harness: `customer(id) { timeline(first: 50) }` for one customer with many events
 * (interactions, orders, stage transitions, consent changes) through the GraphQL API, versus a bare
 * node:http server that runs the equivalent SQL with `pg` directly: the same UNION ALL keyset page
 * of the 51 newest events joined back to the concrete rows, in one statement. Everything is an
 * importable function (the CLI in timeline.bench.ts and the smoke test both call them); nothing
 * here asserts on timings.
 */
import type { Database } from '../packages/server/src/db/database.ts';
import {
  type ApiVsRawResult,
  type BaseScenarioOptions,
  type BenchDatabase,
  formatApiVsRaw,
  type RequestSpec,
  reporter,
  runScenario,
  type Seeded,
  seed,
  serveRaw,
  type Target,
  verifyPair,
} from './harness.ts';

export const TIMELINE_PAGE_SIZE = 50;

/**
 * The measured query. Every field of the four node types that the raw baseline can render is a
 * plain column; `channel` of ConsentChange is aliased because it is a different enum than
 * Interaction.channel (GraphQL cannot merge them).
 */
export const TIMELINE_QUERY = `query Timeline($id: ID!) { customer(id: $id) { id timeline(first: ${TIMELINE_PAGE_SIZE}) {
  edges { cursor at kind node { __typename
    ... on Interaction { id type channel direction subject occurredAt }
    ... on Order { id externalId status total currency placedAt }
    ... on StageTransition { id fromStage toStage source at }
    ... on ConsentChange { consentChannel: channel granted changedAt } } }
  pageInfo { hasNextPage endCursor } } } }`;

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** The global id the API gives a node (Relay: base64 of "Type:uuid"). */
export const globalId = (type: string, id: string) => b64(`${type}:${id}`);

export const timelineRequest = (secretKey: string, customerId: string): RequestSpec => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${secretKey}` },
  body: JSON.stringify({ query: TIMELINE_QUERY, variables: { id: globalId('Customer', customerId) } }),
});

// ---------------------------------------------------------------------------------------------
// Seeding

export type TimelineSeedOptions = {
  /** Events of the measured customer (all four kinds, interleaved; soft-deleted interactions not counted). */
  events: number;
  /** Other customers of the shop (from the customers generator). */
  customers?: number;
  seed?: number;
};

export type TimelineSeeded = Seeded & {
  /** The measured customer. */
  customerId: string;
  events: number;
  byKind: { interaction: number; order: number; stage: number; consent: number };
  /** Soft-deleted interactions of the customer (excluded from the timeline). */
  deletedInteractions: number;
  /** Interactions of another customer at the same instants (excluded too). */
  otherCustomerEvents: number;
  timelineMs: number;
};

// Event g (1..events) of the customer: its kind is g % 20 (0: stage, 1: consent, 2-5: order, else
// interaction: 70 / 20 / 5 / 5 %) and it happened (g / 2) minutes before 2026-01-01, so events come in
// pairs at the same instant: ties broken by kind, and by id when both are of the same kind.
const AT = `timestamptz '2026-01-01T00:00:00Z' - make_interval(mins => g / 2)`;
const SERIES = `FROM generate_series(1, $3::int) g`;

const SEED_SQL = {
  interaction: `
INSERT INTO "Interaction" ("shopId", "customerId", "channel", "direction", "type", "subject", "occurredAt", "source")
SELECT $1::uuid, $2::uuid,
  (ARRAY['PHONE','EMAIL','SMS','IM','WEB','IN_STORE','EVENT','SOCIAL','SURVEY','OTHER'])[1 + (g / 20) % 10]::"InteractionChannel",
  (ARRAY['INBOUND','OUTBOUND'])[1 + g % 2]::"InteractionDirection",
  (ARRAY['INQUIRY','VISIT','MESSAGE','REGISTRATION','COMPLAINT','REVIEW','REFERRAL'])[1 + g % 7]::"InteractionType",
  CASE WHEN g % 3 = 0 THEN NULL ELSE 'Subject ' || g END,
  ${AT}, 'api'
${SERIES} WHERE g % 20 >= 6`,
  order: `
INSERT INTO "Order" ("shopId", "customerId", "externalId", "status", "placedAt", "currency", "subtotal", "total", "exchangeRate")
SELECT $1::uuid, $2::uuid, 'bench-' || g,
  (ARRAY['PLACED','PAID','FULFILLED','CANCELLED','REFUNDED'])[1 + (g / 20) % 5]::"OrderStatus",
  ${AT}, 'EUR', (g % 997) + 0.9, (g % 997) + 0.9, 1
${SERIES} WHERE g % 20 BETWEEN 2 AND 5`,
  stage: `
INSERT INTO "StageTransition" ("shopId", "customerId", "fromStage", "toStage", "source", "at")
SELECT $1::uuid, $2::uuid,
  CASE WHEN (g / 20) % 4 = 0 THEN NULL ELSE (ARRAY['SUSPECT','PROSPECT','FIRST_PURCHASE','REPEAT'])[1 + (g / 20) % 4]::"LifecycleStage" END,
  (ARRAY['PROSPECT','FIRST_PURCHASE','REPEAT','LOYAL'])[1 + (g / 20) % 4]::"LifecycleStage",
  (ARRAY['MANUAL','AUTOMATIC'])[1 + (g / 20) % 2]::"StageChangeSource",
  ${AT}
${SERIES} WHERE g % 20 = 0`,
  consent: `
INSERT INTO "ConsentChange" ("shopId", "customerId", "channel", "granted", "source", "changedAt")
SELECT $1::uuid, $2::uuid,
  (ARRAY['EMAIL','SMS','PHONE','IM','POSTAL','THIRD_PARTY_SHARING'])[1 + (g / 20) % 6]::"ConsentChannel",
  (g / 20) % 3 <> 0, 'bench', ${AT}
${SERIES} WHERE g % 20 = 1`,
};

const SEED_DELETED = `
INSERT INTO "Interaction" ("shopId", "customerId", "channel", "direction", "type", "occurredAt", "deletedAt")
SELECT $1::uuid, $2::uuid, 'EMAIL', 'INBOUND', 'MESSAGE',
  timestamptz '2026-01-01T00:00:00Z' - make_interval(mins => g * 7, secs => 30), timestamptz '2026-01-02T00:00:00Z'
${SERIES}`;

const SEED_OTHER = `
INSERT INTO "Interaction" ("shopId", "customerId", "channel", "direction", "type", "occurredAt")
SELECT $1::uuid, $2::uuid, 'PHONE', 'OUTBOUND', 'VISIT', ${AT}
${SERIES}`;

/**
 * Creates a shop with `customers` customers (the customers-list seed), then gives one of them
 * `events` timeline events (set-based INSERT ... SELECT FROM generate_series), plus soft-deleted
 * interactions and another customer's interactions at the same instants, which must not show.
 */
export async function seedTimeline(db: Database, opts: TimelineSeedOptions): Promise<TimelineSeeded> {
  const base = await seed(db, { customers: Math.max(2, opts.customers ?? 1000), seed: opts.seed });
  const started = performance.now();
  const [customer, other] = await db.sql.query<{ id: string }>(`SELECT id FROM "Customer" WHERE "shopId" = $1 ORDER BY id LIMIT 2`, [
    base.shopId,
  ]);
  if (!customer || !other) throw new Error('no customers seeded');
  const events = opts.events;
  for (const sql of Object.values(SEED_SQL)) await db.sql.query(sql, [base.shopId, customer.id, events]);
  const deletedInteractions = Math.floor(events / 20);
  if (deletedInteractions) await db.sql.query(SEED_DELETED, [base.shopId, customer.id, deletedInteractions]);
  const otherCustomerEvents = Math.floor(events / 10);
  if (otherCustomerEvents) await db.sql.query(SEED_OTHER, [base.shopId, other.id, otherCustomerEvents]);
  for (const table of ['Interaction', 'Order', 'StageTransition', 'ConsentChange']) await db.sql.exec(`VACUUM ANALYZE "${table}"`);
  const count = (table: string, extra = '') =>
    db.sql
      .query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}" WHERE "customerId" = $1 ${extra}`, [customer.id])
      .then((r) => r[0]?.n ?? 0);
  const byKind = {
    interaction: await count('Interaction', 'AND "deletedAt" IS NULL'),
    order: await count('Order'),
    stage: await count('StageTransition'),
    consent: await count('ConsentChange'),
  };
  const total = byKind.interaction + byKind.order + byKind.stage + byKind.consent;
  if (total !== events) throw new Error(`seeded ${total} events, expected ${events}`);
  return {
    ...base,
    customerId: customer.id,
    events,
    byKind,
    deletedInteractions,
    otherCustomerEvents,
    timelineMs: Math.round(performance.now() - started),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw baseline

/**
 * One statement: the keyset page (same UNION ALL, order and LIMIT first + 1 as the API), joined
 * back to the concrete rows, for a customer of the shop; no row when the customer is not in the
 * shop, one row with a null kind when it has no events.
 */
const RAW_SQL = `
WITH page AS (
  SELECT * FROM (
    SELECT 'consent'::text AS kind, x.id, x."changedAt" AS at FROM "ConsentChange" x
      WHERE x."shopId" = $1 AND x."customerId" = $2
    UNION ALL
    SELECT 'interaction'::text, x.id, x."occurredAt" FROM "Interaction" x
      WHERE x."shopId" = $1 AND x."customerId" = $2 AND x."deletedAt" IS NULL
    UNION ALL
    SELECT 'order'::text, x.id, x."placedAt" FROM "Order" x
      WHERE x."shopId" = $1 AND x."customerId" = $2
    UNION ALL
    SELECT 'stage'::text, x.id, x."at" FROM "StageTransition" x
      WHERE x."shopId" = $1 AND x."customerId" = $2
  ) t
  ORDER BY at DESC, kind ASC, id DESC
  LIMIT $3
)
SELECT p.kind, p.id, p.at,
       i."type"::text AS "iType", i."channel"::text AS "iChannel", i."direction"::text AS "iDirection", i."subject" AS "iSubject",
       o."externalId" AS "oExternalId", o."status"::text AS "oStatus", o."total"::text AS "oTotal", o."currency" AS "oCurrency",
       s."fromStage"::text AS "sFrom", s."toStage"::text AS "sTo", s."source"::text AS "sSource",
       c."channel"::text AS "cChannel", c."granted" AS "cGranted"
FROM "Customer" cu
LEFT JOIN page p ON true
LEFT JOIN "Interaction" i ON p.kind = 'interaction' AND i.id = p.id
LEFT JOIN "Order" o ON p.kind = 'order' AND o.id = p.id
LEFT JOIN "StageTransition" s ON p.kind = 'stage' AND s.id = p.id
LEFT JOIN "ConsentChange" c ON p.kind = 'consent' AND c.id = p.id
WHERE cu."shopId" = $1 AND cu.id = $2
ORDER BY p.at DESC, p.kind ASC, p.id DESC`;

type Kind = 'consent' | 'interaction' | 'order' | 'stage';

type RawRow = {
  kind: Kind | null;
  id: string | null;
  at: Date | null;
  iType: string | null;
  iChannel: string | null;
  iDirection: string | null;
  iSubject: string | null;
  oExternalId: string | null;
  oStatus: string | null;
  oTotal: string | null;
  oCurrency: string | null;
  sFrom: string | null;
  sTo: string | null;
  sSource: string | null;
  cChannel: string | null;
  cGranted: boolean | null;
};

const KIND_NAME: Record<Kind, string> = { interaction: 'INTERACTION', order: 'ORDER', stage: 'STAGE_CHANGE', consent: 'CONSENT_CHANGE' };

/** The API's opaque cursor: base64url of JSON [at ISO, kind, id]. */
export const timelineCursor = (at: string, kind: Kind, id: string) => Buffer.from(JSON.stringify([at, kind, id])).toString('base64url');

function node(r: RawRow, at: string) {
  const id = r.id as string;
  switch (r.kind) {
    case 'interaction':
      return {
        __typename: 'Interaction',
        id: globalId('Interaction', id),
        type: r.iType,
        channel: r.iChannel,
        direction: r.iDirection,
        subject: r.iSubject,
        occurredAt: at,
      };
    case 'order':
      return {
        __typename: 'Order',
        id: globalId('Order', id),
        externalId: r.oExternalId,
        status: r.oStatus,
        total: r.oTotal,
        currency: r.oCurrency,
        placedAt: at,
      };
    case 'stage':
      return { __typename: 'StageTransition', id, fromStage: r.sFrom, toStage: r.sTo, source: r.sSource, at };
    default:
      return { __typename: 'ConsentChange', consentChannel: r.cChannel, granted: r.cGranted, changedAt: at };
  }
}

/** Renders rows in the GraphQL response's shape (same ids, cursors, key order). */
export function rawTimelineBody(customerId: string, rows: RawRow[] | null): string {
  if (!rows) return JSON.stringify({ data: { customer: null } });
  const events = rows.filter((r) => r.kind != null);
  const page = events.slice(0, TIMELINE_PAGE_SIZE);
  const edges = page.map((r) => {
    const at = (r.at as Date).toISOString();
    return { cursor: timelineCursor(at, r.kind as Kind, r.id as string), at, kind: KIND_NAME[r.kind as Kind], node: node(r, at) };
  });
  return JSON.stringify({
    data: {
      customer: {
        id: globalId('Customer', customerId),
        timeline: {
          edges,
          pageInfo: { hasNextPage: events.length > TIMELINE_PAGE_SIZE, endCursor: edges.at(-1)?.cursor ?? null },
        },
      },
    },
  });
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The customer uuid of the request's `variables.id` (a Customer global id), or null. */
function customerIdOf(body: string): string | null {
  try {
    const id = (JSON.parse(body) as { variables?: { id?: unknown } }).variables?.id;
    if (typeof id !== 'string') return null;
    const [type, uuid] = Buffer.from(id, 'base64').toString('utf8').split(':');
    return type === 'Customer' && uuid && UUID_RE.test(uuid) ? uuid : null;
  } catch {
    return null;
  }
}

/**
 * The baseline: a bare node:http server that reads the request's customer id, runs RAW_SQL and
 * returns the same JSON as the API. On PostgreSQL it uses its own `pg` pool of `poolSize`; on
 * PGlite the database's SqlRunner. Like the customers baseline it does no authentication, and it
 * does not follow merged customers to their survivor (the bench customer is active).
 */
export function startTimelineRaw(bench: Pick<BenchDatabase, 'db' | 'url'>, shopId: string, poolSize = 10): Promise<Target> {
  return serveRaw(bench, poolSize, async (requestBody, runner) => {
    const customerId = customerIdOf(requestBody);
    const rows = customerId ? await runner.query<RawRow>(RAW_SQL, [shopId, customerId, TIMELINE_PAGE_SIZE + 1]) : [];
    return rawTimelineBody(customerId ?? '', customerId && rows.length ? rows : null);
  });
}

// ---------------------------------------------------------------------------------------------
// Correctness check

type Edge = { cursor: string; at: string; kind: string; node: { __typename: string } };
type TimelineData = {
  data?: { customer?: { id: string; timeline: { edges: Edge[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } | null };
  errors?: unknown[];
};

/**
 * Calls both targets once and throws unless both answer 200 with a full first page of
 * min(50, events) edges, newest first, the right hasNextPage, and deep-equal data (global ids,
 * cursors, every field). Returns the bodies (used as autocannon's expectBody).
 */
export async function verifyTimeline(
  api: Target,
  raw: Target,
  request: RequestSpec,
  events: number,
): Promise<{ api: string; raw: string; kinds: string[] }> {
  let kinds: string[] = [];
  const bodies = await verifyPair<TimelineData>(api, raw, request, (t, json, text) => {
    const conn = json.data?.customer?.timeline;
    if (!conn) throw new Error(`${t.name}: no data.customer.timeline in ${text.slice(0, 200)}`);
    const page = Math.min(TIMELINE_PAGE_SIZE, events);
    if (conn.edges.length !== page) throw new Error(`${t.name}: ${conn.edges.length} edges, expected ${page}`);
    if (conn.pageInfo.hasNextPage !== events > TIMELINE_PAGE_SIZE) throw new Error(`${t.name}: wrong hasNextPage`);
    for (let i = 1; i < conn.edges.length; i++) {
      if (conn.edges[i]!.at > conn.edges[i - 1]!.at) throw new Error(`${t.name}: edges not newest first at ${i}`);
    }
    kinds = [...new Set(conn.edges.map((e) => e.kind))].sort();
  });
  return { ...bodies, kinds };
}

// ---------------------------------------------------------------------------------------------
// One scenario end to end

export type TimelineScenarioOptions = BaseScenarioOptions & { events: number; customers?: number };

export type TimelineResult = ApiVsRawResult & {
  scenario: 'customer-timeline';
  events: number;
  seeded: Omit<TimelineSeeded, 'shopId' | 'secretKey' | 'customerId'>;
  /** Kinds present on the verified first page. */
  pageKinds: string[];
};

export async function runTimeline(opts: TimelineScenarioOptions): Promise<TimelineResult> {
  const r = await runScenario(opts, {
    seeding: `seeding ${opts.customers ?? 1000} customers and ${opts.events} timeline events for one of them...`,
    seed: (db) => seedTimeline(db, { events: opts.events, customers: opts.customers, seed: opts.seed }),
    seeded: (s) =>
      `seeded in ${((s.ms + s.timelineMs) / 1000).toFixed(1)} s: ${s.byKind.interaction} interactions, ${s.byKind.order} orders, ${s.byKind.stage} stage changes, ${s.byKind.consent} consent changes (+${s.deletedInteractions} deleted, +${s.otherCustomerEvents} of another customer)`,
    startRaw: (bench, s, poolSize) => startTimelineRaw(bench, s.shopId, poolSize),
    request: (s) => timelineRequest(s.secretKey, s.customerId),
    verify: (api, raw, request) => verifyTimeline(api, raw, request, opts.events),
    verified: (v) => `verified: API and raw baseline return the same page (kinds ${v.kinds.join(', ')})`,
  });
  const { shopId: _s, secretKey: _k, customerId: _c, ...seeded } = r.seeded;
  return {
    scenario: 'customer-timeline',
    ...r.info,
    events: opts.events,
    seeded,
    load: r.load,
    query: TIMELINE_QUERY,
    pageKinds: r.verified.kinds,
    ...r.measured,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

export const formatTimelineReport = (r: TimelineResult): string =>
  formatApiVsRaw(`customer-timeline: timeline(first: ${TIMELINE_PAGE_SIZE}) of a customer with ${r.events} events`, r, {
    rawNote: ', raw 1',
    p99: true,
  });

/** Prints the table and, when `jsonPath` is given, writes the result as JSON there. */
export const reportTimeline = reporter(formatTimelineReport);

/** The baseline's statement and row type, for the peer comparison (peer-harness.ts) that serves the same page. */
export { RAW_SQL as TIMELINE_RAW_SQL, type RawRow as TimelineRawRow };
