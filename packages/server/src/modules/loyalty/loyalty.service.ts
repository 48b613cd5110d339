import { decodeGlobalID } from '@pothos/plugin-relay';
import type { ShopBound, ShopTx } from '../../db/shop-bound.ts';
import type { TenantSql } from '../../db/tenant-sql.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { lifecycleAfterFold } from '../lifecycle/lifecycle.service.ts';
import { competitor, competitorAmount, counted, countedAmount } from '../orders/order.counting.ts';
import { getLoyaltySettings, INDICATOR_COLUMN, INDICATORS, type Indicator, type LoyaltySettings } from './loyalty.settings.ts';
import { type MetricsScope, metricsCtes } from './loyalty.sql.ts';
import { pointsForInteraction, pointsForOrder } from './points.service.ts';

/**
 * Loyalty metrics as a materialised table (CustomerMetrics), kept fresh two ways:
 * - `recomputeLoyalty(shop)`: every customer of the shop in one set-based statement
 *   (new RFM breakpoints); on demand (mutation), by the scheduler once a day, and after the demo seed.
 * - `refreshLoyalty(shop)`: folds the shop's new outbox events (orders, interactions,
 *   merges, referral changes) into the points ledger and the affected customers' rows, durably: a
 *   per-shop cursor (LoyaltyState.lastEventId) advances in the same transaction as the rows. It
 *   runs from the scheduler and before loyalty reads, so reads see every committed order.
 * Recomputes of one shop are serialised by a lock on its LoyaltyState row, so a crossing into
 * HIGH churn risk is detected (and emitted) exactly once.
 */

const TX = { timeout: 10 * 60_000, maxWait: 60_000 } as const;

export type RecomputeResult = { customers: number; computedAt: Date; durationMs: number };

async function lockState(t: ShopTx): Promise<bigint> {
  await t.write(
    (shop) => Prisma.sql`
    ins AS (INSERT INTO "LoyaltyState" ("shopId") VALUES (${shop}) ON CONFLICT ("shopId") DO NOTHING RETURNING "shopId"),
    written AS (SELECT "shopId" FROM ins)`,
  );
  const [row] = await t.sql<{ lastEventId: bigint }>(
    (shop) => Prisma.sql`SELECT "shopId", "lastEventId" FROM "LoyaltyState" WHERE "shopId" = ${shop} FOR UPDATE`,
  );
  return row?.lastEventId ?? 0n;
}

/** Returns the number of metrics rows written (`up`): in a full recompute, every customer of the shop. */
async function runMetrics(t: ShopTx, scope: MetricsScope, s: LoyaltySettings, now: Date, opts: { quiet?: readonly string[] } = {}) {
  return t.write((shop) => metricsCtes(shop, scope, s, now, opts), { count: 'up' });
}

/**
 * Full recompute of every customer of the shop (one statement), with fresh RFM breakpoints.
 * `quiet`: those customers' crossings into HIGH churn risk are stored but raise nothing (see metricsCtes).
 */
export async function recomputeLoyalty(shop: ShopBound, now?: Date, opts: { quiet?: readonly string[] } = {}): Promise<RecomputeResult> {
  const started = performance.now();
  const s = await getLoyaltySettings(shop.db);
  const { computedAt, customers } = await shop.transaction(async (t) => {
    await lockState(t);
    // Without a fixed `now`: the moment the lock is held, so orders folded by another instance while
    // this one waited count here too (a moment from before the wait would undo them).
    const at = now ?? new Date();
    // The full recompute upserts a row for every customer that is not merged and deletes the merged
    // ones' rows, so its upserted rows are the table's rows after it (no second scan to count them).
    const written = await runMetrics(t, { kind: 'full' }, s, at, opts);
    return { computedAt: at, customers: written };
  }, TX);
  return { customers, computedAt, durationMs: Math.round(performance.now() - started) };
}

/** Recomputes the given customers' rows against the shop's last breakpoints. */
export async function recomputeCustomers(shop: ShopBound, ids: string[], now = new Date()): Promise<void> {
  if (!ids.length) return;
  const s = await getLoyaltySettings(shop.db);
  await shop.transaction(async (t) => {
    await lockState(t);
    await runMetrics(t, { kind: 'customers', ids }, s, now);
  }, TX);
}

type EventRow = { id: bigint; type: string; customerId: string | null; payload: Record<string, unknown> };
const RELEVANT = new Set([
  'ORDER_RECORDED',
  'INTERACTION_RECORDED',
  'INTERACTION_UPDATED',
  'INTERACTION_DELETED',
  'CUSTOMER_MERGED',
  'CUSTOMER_CREATED',
  'CUSTOMER_UPDATED',
]);
const BATCH = 2000;

function rowIdOf(globalId: unknown): string | null {
  if (typeof globalId !== 'string') return null;
  try {
    return decodeGlobalID(globalId).id;
  } catch {
    return null;
  }
}

function readEventsAfter(sql: TenantSql, cursor: bigint) {
  return sql<EventRow & { shopId: string }>(
    (shop) => Prisma.sql`
      SELECT "shopId", id, type, "customerId", payload FROM "Event"
      WHERE "shopId" = ${shop} AND id > ${cursor} AND type IN (${Prisma.join([...RELEVANT])})
      ORDER BY id LIMIT ${BATCH}`,
  );
}

/**
 * Folds new events into points and metrics. Points first (each movement idempotent by key, so a
 * crash before the cursor moves only repeats no-ops), then one transaction recomputes the affected
 * customers and advances the cursor — never past the last event whose points were applied: an
 * order recorded between the two reads (by a request, or while another instance folds) is left for
 * the next pass instead of being skipped. Returns the number of events folded. `now`: the moment
 * metrics are computed at (default: the time of each fold).
 */
export async function refreshLoyalty(shop: ShopBound, now?: Date): Promise<number> {
  const db = shop.db;
  const state = await db.loyaltyState.findFirst({ select: { lastEventId: true } });
  const latest = await db.event.findFirst({ orderBy: { id: 'desc' }, select: { id: true } });
  if (!latest || (state && state.lastEventId >= latest.id)) return 0;
  const s = await getLoyaltySettings(db);
  let folded = 0;
  for (;;) {
    const cursor = (await db.loyaltyState.findFirst({ select: { lastEventId: true } }))?.lastEventId ?? 0n;
    const events = await readEventsAfter(shop.sql, cursor);
    for (const e of events) {
      const p = e.payload ?? {};
      if (e.type === 'ORDER_RECORDED') {
        const id = rowIdOf(p.orderId);
        if (id) await pointsForOrder(db, s, id);
      } else if (e.type === 'INTERACTION_RECORDED') {
        const id = rowIdOf(p.interactionId);
        if (id) await pointsForInteraction(db, s, id);
      }
    }
    // Points are applied for every relevant event in (cursor, upTo]; `complete`: `events` holds all of
    // them up to `latest` (read before), so the cursor may move on to `latest` past irrelevant ones.
    const complete = events.length < BATCH;
    const upTo = events.at(-1)?.id ?? cursor;
    const target = complete && latest.id > upTo ? latest.id : upTo;
    const done = await shop.transaction(async (t) => {
      const locked = await lockState(t);
      const batch = (await readEventsAfter(t.sql, locked)).filter((e) => e.id <= upTo);
      if (!batch.length) {
        // Nothing relevant left up to `upTo` (irrelevant events only, or another instance folded them).
        await advance(t, target); // advance() keeps the larger of the two
        return 0;
      }
      const ids = new Set<string>();
      for (const e of batch) {
        if (e.customerId) ids.add(e.customerId);
        const dup = rowIdOf(e.payload?.duplicateId);
        if (dup) ids.add(dup);
      }
      const referrers = await t.sql<{ id: string }>(
        (shop) => Prisma.sql`
          SELECT "shopId", "sourceReferrerId" AS id FROM "Customer"
          WHERE "shopId" = ${shop} AND id = ANY(${[...ids]}::uuid[]) AND "sourceReferrerId" IS NOT NULL`,
      );
      for (const r of referrers) ids.add(r.id);
      // Without a fixed `now` (the scheduler's live passes) the metrics count up to this moment: an order
      // recorded after the pass began but folded by it is counted now, not at the next full recompute.
      await runMetrics(t, { kind: 'customers', ids: [...ids] }, s, now ?? new Date());
      await lifecycleAfterFold(t, [...ids], now ?? new Date()); // the stage ladder (modules/lifecycle)
      await advance(t, target);
      return batch.length;
    }, TX);
    folded += done;
    if (complete) return folded;
  }
}

async function advance(t: ShopTx, to: bigint) {
  await t.write(
    (shop) => Prisma.sql`
    upd AS (UPDATE "LoyaltyState" SET "lastEventId" = GREATEST("lastEventId", ${to}), "updatedAt" = now() WHERE "shopId" = ${shop} RETURNING "shopId"),
    written AS (SELECT "shopId" FROM upd)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Evidence: the facts behind each indicator, for many customers in one statement

export type Fact = {
  customerId: string;
  indicator: Indicator;
  kind: 'Interaction' | 'Order' | 'Customer';
  id: string;
  at: Date | null;
  detail: string | null;
};

export const EVIDENCE_CAP = 10;

export async function loadEvidence(sql: TenantSql, customerIds: readonly string[]): Promise<Fact[]> {
  if (!customerIds.length) return [];
  const ids = [...customerIds];
  return sql<Fact>(
    (shop) => Prisma.sql`
    SELECT * FROM (
      SELECT f.*, row_number() OVER (PARTITION BY f."customerId", f.indicator ORDER BY f.at DESC NULLS LAST, f.id) AS rn FROM (
        SELECT x."shopId", x."customerId", CASE
            WHEN x.type = 'QA_PARTICIPATION' THEN 'qaParticipation'
            WHEN x.type IN ('WORD_OF_MOUTH', 'REVIEW') AND x.sentiment = 'POSITIVE' THEN 'positiveWordOfMouth'
            WHEN x.type = 'EVENT_ATTENDANCE' THEN 'eventParticipation'
            WHEN x.type = 'SUGGESTION' THEN 'suggestions'
            WHEN x.type = 'SURVEY_RESPONSE' AND COALESCE(x.metadata->>'completed', 'true') <> 'false' THEN 'surveysCompleted'
          END AS indicator, 'Interaction' AS kind, x.id, x."occurredAt" AS at, x.type::text AS detail
        FROM "Interaction" x
        WHERE x."shopId" = ${shop} AND x."customerId" = ANY(${ids}::uuid[]) AND x."deletedAt" IS NULL
          AND x.type IN ('QA_PARTICIPATION', 'WORD_OF_MOUTH', 'REVIEW', 'EVENT_ATTENDANCE', 'SUGGESTION', 'SURVEY_RESPONSE')
        UNION ALL
        SELECT o."shopId", o."customerId", 'addOnPurchases', 'Order', o.id, o."placedAt", o."externalId"
        FROM "Order" o
        WHERE o."shopId" = ${shop} AND o."customerId" = ANY(${ids}::uuid[]) AND ${counted()}
          AND EXISTS (SELECT 1 FROM "OrderItem" i WHERE i."orderId" = o.id AND i."addOn")
        UNION ALL
        SELECT r."shopId", r."sourceReferrerId", 'referralsBought', 'Customer', r.id,
          (SELECT min(o."placedAt") FROM "Order" o WHERE o."customerId" = r.id AND ${counted()}), NULL
        FROM "Customer" r
        WHERE r."shopId" = ${shop} AND r."sourceReferrerId" = ANY(${ids}::uuid[]) AND r.status <> 'MERGED'
          AND EXISTS (SELECT 1 FROM "Order" o WHERE o."customerId" = r.id AND ${counted()})
      ) f WHERE f.indicator IS NOT NULL
    ) g WHERE g.rn <= ${EVIDENCE_CAP}`,
  );
}

// ---------------------------------------------------------------------------------------------
// The explainable score

export type IndicatorScore = { indicator: Indicator; value: number; score: number; weight: number; target: number };

/** Indicator scores from a metrics row, exactly as the SQL computes them (min(100, round(100 × value / target))). */
export function indicatorScores(row: Record<string, unknown>, s: LoyaltySettings): IndicatorScore[] {
  return INDICATORS.map((k) => {
    const value = Number(row[INDICATOR_COLUMN[k]] ?? 0);
    return {
      indicator: k,
      value,
      score: Math.min(100, Math.round((100 * value) / s.targets[k])),
      weight: s.weights[k],
      target: s.targets[k],
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Shop KPIs over a date range (one statement)

export type ShopKpis = {
  orders: number;
  revenue: string;
  averageOrderValue: string;
  buyers: number;
  repeatBuyers: number;
  competitorOrders: number;
  competitorSpend: string;
  competitorBuyers: number;
  complaints: number;
  churnBase: number;
  churned: number;
  sources: { channel: string | null; leads: number; conversions: number }[];
  visitorSources: { source: string | null; visitors: number; leads: number; buyers: number }[];
  stages: Record<string, number>;
  loyalty: { buckets: number[]; average: number | null; high: number; medium: number; low: number; scored: number };
};

export async function shopKpis(sql: TenantSql, from: Date, to: Date): Promise<ShopKpis> {
  const [row] = await sql<{ k: ShopKpis }>((shop) => kpiSql(shop, from, to));
  return (row as { k: ShopKpis }).k;
}

/** The KPI statement, one SELECT (exported for the benchmark's raw baseline). */
export function kpiSql(shop: Prisma.Sql, from: Date, to: Date): Prisma.Sql {
  const f = Prisma.sql`${from}::timestamptz`;
  const t = Prisma.sql`${to}::timestamptz`;
  return Prisma.sql`
    WITH ro AS (
      SELECT o."customerId", ${countedAmount()} AS total FROM "Order" o
      WHERE o."shopId" = ${shop} AND ${counted()} AND o."placedAt" >= ${f} AND o."placedAt" < ${t}),
    co AS (
      SELECT o."customerId", ${competitorAmount()} AS total FROM "Order" o
      WHERE o."shopId" = ${shop} AND ${competitor()} AND o."placedAt" >= ${f} AND o."placedAt" < ${t}),
    buyers AS (SELECT DISTINCT "customerId" FROM ro),
    prior AS (
      SELECT o."customerId", bool_or(o."placedAt" >= ${f}) AS active
      FROM "Order" o WHERE o."shopId" = ${shop} AND ${counted()} AND o."placedAt" < ${t}
      GROUP BY o."customerId" HAVING min(o."placedAt") < ${f}),
    leads AS (
      SELECT c."sourceChannel"::text AS channel, count(*)::int AS leads,
        (count(*) FILTER (WHERE EXISTS (SELECT 1 FROM "Order" o WHERE o."customerId" = c.id AND ${counted()} AND o."placedAt" < ${t})))::int AS conversions
      FROM "Customer" c WHERE c."shopId" = ${shop} AND c.status <> 'MERGED' AND c."createdAt" >= ${f} AND c."createdAt" < ${t}
      GROUP BY 1),
    vfirst AS (
      SELECT DISTINCT ON (e."visitorId") e."visitorId", e."occurredAt" AS first_at,
        COALESCE(NULLIF(lower(btrim(e."utmSource")), ''),
          NULLIF(regexp_replace(lower(substring(e.referrer from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)')), '^www\.', ''), '')) AS source
      FROM "BehaviourEvent" e WHERE e."shopId" = ${shop} AND e."occurredAt" >= ${f} AND e."occurredAt" < ${t}
      ORDER BY e."visitorId", e."occurredAt", e.id),
    vcust AS (
      SELECT DISTINCT ON (e."visitorId") e."visitorId", e."customerId" FROM "BehaviourEvent" e
      WHERE e."shopId" = ${shop} AND e."customerId" IS NOT NULL AND e."visitorId" IN (SELECT "visitorId" FROM vfirst)
      ORDER BY e."visitorId", e.id DESC),
    vconv AS (
      SELECT v.source, c.id IS NOT NULL AND c."createdAt" >= v.first_at AND c."createdAt" < ${t} AS lead,
        c.id IS NOT NULL AND EXISTS (SELECT 1 FROM "Order" o WHERE o."shopId" = ${shop} AND o."customerId" = c.id AND ${counted()}
          AND o."placedAt" >= v.first_at AND o."placedAt" < ${t}) AS bought
      FROM vfirst v LEFT JOIN vcust vc ON vc."visitorId" = v."visitorId"
      LEFT JOIN "Customer" c ON c.id = vc."customerId" AND c."shopId" = ${shop} AND c.status <> 'MERGED'),
    vsrc AS (
      SELECT source, count(*)::int AS visitors, (count(*) FILTER (WHERE lead))::int AS leads, (count(*) FILTER (WHERE bought))::int AS buyers
      FROM vconv GROUP BY source),
    st AS (SELECT c.stage::text AS stage, count(*)::int AS n FROM "Customer" c WHERE c."shopId" = ${shop} AND c.status = 'ACTIVE' GROUP BY 1),
    lm AS (
      SELECT m."loyaltyScore" AS s, m."churnRisk" AS r FROM "CustomerMetrics" m JOIN "Customer" c ON c.id = m."customerId"
      WHERE m."shopId" = ${shop} AND c.status = 'ACTIVE')
    SELECT ${shop} AS "shopId", jsonb_build_object(
      'orders', (SELECT count(*) FROM ro),
      'revenue', (SELECT COALESCE(sum(total), 0)::text FROM ro),
      'averageOrderValue', (SELECT COALESCE(round(avg(total), 2), 0)::text FROM ro),
      'buyers', (SELECT count(*) FROM buyers),
      'repeatBuyers', (SELECT count(*) FROM buyers b WHERE (SELECT count(*) FROM "Order" o WHERE o."customerId" = b."customerId" AND ${counted()} AND o."placedAt" < ${t}) >= 2),
      'competitorOrders', (SELECT count(*) FROM co),
      'competitorSpend', (SELECT COALESCE(sum(total), 0)::text FROM co),
      'competitorBuyers', (SELECT count(DISTINCT "customerId") FROM co),
      'complaints', (SELECT count(*) FROM "Interaction" x WHERE x."shopId" = ${shop} AND x."deletedAt" IS NULL AND x.type IN ('COMPLAINT', 'DISPUTE') AND x."occurredAt" >= ${f} AND x."occurredAt" < ${t}),
      'churnBase', (SELECT count(*) FROM prior),
      'churned', (SELECT count(*) FROM prior WHERE NOT active),
      'sources', (SELECT COALESCE(jsonb_agg(jsonb_build_object('channel', channel, 'leads', leads, 'conversions', conversions) ORDER BY channel NULLS LAST), '[]') FROM leads),
      'visitorSources', (SELECT COALESCE(jsonb_agg(jsonb_build_object('source', source, 'visitors', visitors, 'leads', leads, 'buyers', buyers)
        ORDER BY visitors DESC, source NULLS LAST), '[]') FROM vsrc),
      'stages', (SELECT COALESCE(jsonb_object_agg(stage, n), '{}') FROM st),
      'loyalty', (SELECT jsonb_build_object(
        'buckets', jsonb_build_array(count(*) FILTER (WHERE s < 20), count(*) FILTER (WHERE s >= 20 AND s < 40), count(*) FILTER (WHERE s >= 40 AND s < 60),
                                     count(*) FILTER (WHERE s >= 60 AND s < 80), count(*) FILTER (WHERE s >= 80)),
        'average', round(avg(s), 1), 'scored', count(*),
        'high', count(*) FILTER (WHERE r = 'HIGH'), 'medium', count(*) FILTER (WHERE r = 'MEDIUM'), 'low', count(*) FILTER (WHERE r = 'LOW')) FROM lm)
    ) AS k`;
}
