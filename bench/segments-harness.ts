/**
 * Segments benchmark: for 3 representative rules, the compiled statement (parse + compile + run
 * through Prisma's tagged template and tenantSql, as previewSegment does) versus the same query
 * hand-written and run directly on the driver, for the member count and the first page (50).
 * Results are verified equal before timing; figures are p50/p95 in ms and API/raw ratios.
 */
import { tenantSql } from '../packages/server/src/db/tenant-sql.ts';
import { countMatching, pageMatching } from '../packages/server/src/modules/segments/segment.compile.ts';
import { parseRule } from '../packages/server/src/modules/segments/segment.rule.ts';
import { fmt, type OpenOptions, openBenchDatabase, reporter, type Seeded, seed } from './harness.ts';

export const SEGMENT_PAGE = 50;

/** Orders (0-4 per customer, 5 % cancelled, over two years) and one item each (20 SKUs, 20 % add-ons). */
const SEED_ORDERS = `
INSERT INTO "Order" ("id", "shopId", "customerId", "externalId", "channel", "status", "placedAt", "currency", "subtotal", "total", "exchangeRate", "createdAt", "updatedAt")
SELECT gen_random_uuid(), s."shopId", s.id, 'b-' || s.id || '-' || s.g,
  'OWN_STORE'::"OrderChannel", (CASE WHEN s.r1 < 0.05 THEN 'CANCELLED' ELSE 'PAID' END)::"OrderStatus",
  $2::timestamptz - make_interval(days => floor(s.r2 * 720)::int), 'EUR', s.t, s.t, 1, now(), now()
FROM (
  SELECT c.id, c."shopId", g, round((random() * 500 + 5)::numeric, 2) AS t, random() AS r1, random() AS r2
  FROM "Customer" c CROSS JOIN LATERAL generate_series(1, abs(hashtext(c.id::text)) % 5) g
  WHERE c."shopId" = $1
) s`;
const SEED_ITEMS = `
INSERT INTO "OrderItem" ("id", "shopId", "orderId", "position", "sku", "name", "quantity", "unitPrice", "addOn")
SELECT gen_random_uuid(), o."shopId", o.id, 0, 'SKU-' || (abs(hashtext(o.id::text)) % 20), 'Item', 1, o.total, random() < 0.2
FROM "Order" o WHERE o."shopId" = $1`;

/**
 * Storefront behaviour events (`behaviourEvents` > 0): spread over the shop's customers, 80 %
 * stitched, six weighted types, 20 SKUs, 20 sessions per customer, over the last 90 days.
 */
const SEED_BEHAVIOUR = `
INSERT INTO "BehaviourEvent" ("shopId", "visitorId", "sessionId", "customerId", type, "occurredAt", sku)
SELECT $1::uuid, x.cid, md5(x.cid::text || x.s::text)::uuid, CASE WHEN x.r3 < 0.8 THEN x.cid END,
  (ARRAY['PAGE_VIEWED', 'PRODUCT_VIEWED', 'PRODUCT_VIEWED', 'SEARCHED', 'ADDED_TO_CART', 'CHECKOUT_STARTED'])[1 + floor(x.r1 * 6)::int]::"BehaviourEventType",
  $2::timestamptz - make_interval(secs => x.r2 * 7776000), 'SKU-' || floor(x.r4 * 20)::int
FROM (SELECT cs.a[1 + floor(random() * cardinality(cs.a))::int] AS cid, floor(random() * 20)::int AS s,
        random() AS r1, random() AS r2, random() AS r3, random() AS r4
      FROM generate_series(1, $3::int) g, (SELECT array_agg(id) AS a FROM "Customer" WHERE "shopId" = $1::uuid) cs) x`;

/**
 * The behaviour rule (run when behaviour events are seeded) and its hand-written equivalents:
 * `from` reads every event of the shop in one pass (as written before the rollup); the `alt`
 * variants are what a hand-writer would write today: one pass over the 30 days the rule can see,
 * and the same over the daily rollup "BehaviourDay" (rows of the window's first day or of today
 * that lie partly outside the window counted from their events, as the compiler does).
 */
const ROLLUP_EDGES = `SELECT r."customerId", e.type, 1 AS events, e."occurredAt" AS "firstAt", e."occurredAt" AS "lastAt"
        FROM "BehaviourDay" r JOIN "BehaviourEvent" e ON e."shopId" = r."shopId" AND e."customerId" = r."customerId"
          AND e."occurredAt" >= (r.day::timestamp AT TIME ZONE 'UTC') AND e."occurredAt" < ((r.day + 1)::timestamp AT TIME ZONE 'UTC')
          AND e.type = r.type AND COALESCE(e.sku, '') = r.sku
        WHERE r."shopId" = $1 AND r.day IN ((($2::timestamptz - interval '720 hours') AT TIME ZONE 'UTC')::date, ($2::timestamptz AT TIME ZONE 'UTC')::date)
          AND ((r."firstAt" < $2::timestamptz - interval '720 hours' AND r."lastAt" >= $2::timestamptz - interval '720 hours') OR (r."firstAt" <= $2::timestamptz AND r."lastAt" > $2::timestamptz))
          AND e."occurredAt" >= $2::timestamptz - interval '720 hours' AND e."occurredAt" <= $2::timestamptz`;
export const BEHAVIOUR_RULE = {
  name: 'events',
  rule: 'events.count(type = PRODUCT_VIEWED, within = 30d) >= 3 AND events.lastSeen > -7d',
  from: `FROM "Customer" c JOIN (SELECT e."customerId",
        count(*) FILTER (WHERE e.type = 'PRODUCT_VIEWED' AND e."occurredAt" >= $2::timestamptz - interval '720 hours') AS n,
        max(e."occurredAt") AS last
        FROM "BehaviourEvent" e WHERE e."shopId" = $1 AND e."customerId" IS NOT NULL AND e."occurredAt" <= $2::timestamptz
        GROUP BY e."customerId") b ON b."customerId" = c.id
      WHERE c."shopId" = $1 AND c.status = 'ACTIVE' AND b.n >= 3 AND b.last > $2::timestamptz - interval '168 hours'`,
  alt: [
    {
      name: 'raw 30d',
      from: `FROM "Customer" c JOIN (SELECT e."customerId", count(*) FILTER (WHERE e.type = 'PRODUCT_VIEWED') AS n, max(e."occurredAt") AS last
        FROM "BehaviourEvent" e WHERE e."shopId" = $1 AND e."customerId" IS NOT NULL
          AND e."occurredAt" >= $2::timestamptz - interval '720 hours' AND e."occurredAt" <= $2::timestamptz
        GROUP BY e."customerId") b ON b."customerId" = c.id
      WHERE c."shopId" = $1 AND c.status = 'ACTIVE' AND b.n >= 3 AND b.last > $2::timestamptz - interval '168 hours'`,
    },
    {
      name: 'rollup',
      from: `FROM "Customer" c JOIN (SELECT b."customerId", sum(b.events) FILTER (WHERE b.type = 'PRODUCT_VIEWED') AS n, max(b."lastAt") AS last
        FROM (SELECT r."customerId", r.type, r.events, r."firstAt", r."lastAt" FROM "BehaviourDay" r
              WHERE r."shopId" = $1 AND r.day >= (($2::timestamptz - interval '720 hours') AT TIME ZONE 'UTC')::date
                AND r."firstAt" >= $2::timestamptz - interval '720 hours' AND r."lastAt" <= $2::timestamptz
              UNION ALL ${ROLLUP_EDGES}) b
        GROUP BY b."customerId") b ON b."customerId" = c.id
      WHERE c."shopId" = $1 AND c.status = 'ACTIVE' AND b.n >= 3 AND b.last > $2::timestamptz - interval '168 hours'`,
    },
  ],
};

/** The rules and their hand-written equivalents ($1 shop, $2 now; rows: count n / page id, createdAt). */
export const RULES: { name: string; rule: string; from: string; alt?: { name: string; from: string }[] }[] = [
  {
    name: 'profile',
    rule: 'stage IN (REPEAT, LOYAL) AND incomeBand IN (UPPER_MIDDLE, HIGH) AND age BETWEEN 25 AND 40',
    from: `FROM "Customer" c WHERE c."shopId" = $1 AND c.status = 'ACTIVE' AND c.stage IN ('REPEAT', 'LOYAL')
      AND c."incomeBand" IN ('UPPER_MIDDLE', 'HIGH') AND date_part('year', age($2::timestamptz::date, c."birthDate")) BETWEEN 25 AND 40`,
  },
  {
    name: 'behaviour',
    rule: 'orders.count >= 2 AND lastOrderAt < -90d AND orders.total > 300',
    from: `FROM "Customer" c JOIN (SELECT o."customerId", count(*) AS n, sum(o."countedTotal") AS total, max(o."placedAt") AS last
        FROM "Order" o WHERE o."shopId" = $1 AND o."countedTotal" IS NOT NULL GROUP BY o."customerId") os ON os."customerId" = c.id
      WHERE c."shopId" = $1 AND c.status = 'ACTIVE' AND os.n >= 2 AND os.last < $2::timestamptz - interval '90 days' AND os.total > 300`,
  },
  {
    name: 'mixed',
    rule: "stage IN (REPEAT, LOYAL, FIRST_PURCHASE) AND incomeBand = HIGH AND orders.count >= 2 AND lastOrderAt < -90d AND tags CONTAINS 'vip'",
    from: `FROM "Customer" c JOIN (SELECT o."customerId", count(*) AS n, max(o."placedAt") AS last
        FROM "Order" o WHERE o."shopId" = $1 AND o."countedTotal" IS NOT NULL GROUP BY o."customerId") os ON os."customerId" = c.id
      WHERE c."shopId" = $1 AND c.status = 'ACTIVE' AND c.stage IN ('REPEAT', 'LOYAL', 'FIRST_PURCHASE') AND c."incomeBand" = 'HIGH'
        AND os.n >= 2 AND os.last < $2::timestamptz - interval '90 days'
        AND EXISTS (SELECT 1 FROM "CustomerTag" ct JOIN "Tag" t ON t.id = ct."tagId" WHERE ct."customerId" = c.id AND t.name = 'vip')`,
  },
];

export type Timing = { p50: number; p95: number };
export type RuleResult = {
  name: string;
  rule: string;
  count: number;
  api: { count: Timing; page: Timing };
  raw: { count: Timing; page: Timing };
  ratio: { count: number; page: number };
  /** Other hand-written versions (same answers, verified), and the API over the raw events. */
  alt?: { name: string; count: Timing; page: Timing }[];
};
export type SegmentsBenchResult = {
  backend: 'postgres' | 'pglite';
  note?: string;
  customers: number;
  orders: number;
  behaviourEvents: number;
  iterations: number;
  seeded: Seeded;
  rules: RuleResult[];
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
async function time(iterations: number, warmup: number, fn: () => Promise<unknown>): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { p50: pct(ms, 50), p95: pct(ms, 95) };
}

export async function runSegments(
  opts: OpenOptions & { customers: number; behaviourEvents?: number; iterations: number; warmup?: number; log?: (s: string) => void },
): Promise<SegmentsBenchResult> {
  const log = opts.log ?? (() => {});
  const bench = await openBenchDatabase(opts);
  try {
    const db = bench.db;
    log(`seeding ${opts.customers} customers (${bench.kind})`);
    const seeded = await seed(db, { customers: opts.customers });
    const now = new Date();
    await db.sql.query('SELECT setseed(0.42)');
    await db.sql.query(SEED_ORDERS, [seeded.shopId, now.toISOString()]);
    await db.sql.query(SEED_ITEMS, [seeded.shopId]);
    const behaviourEvents = opts.behaviourEvents ?? 0;
    if (behaviourEvents > 0) {
      log(`seeding ${behaviourEvents} behaviour events`);
      await db.sql.query(SEED_BEHAVIOUR, [seeded.shopId, now.toISOString(), behaviourEvents]);
    }
    for (const table of ['Order', 'OrderItem', 'BehaviourEvent', 'BehaviourDay']) await db.sql.exec(`VACUUM ANALYZE "${table}"`);
    const orders =
      (await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM "Order" WHERE "shopId" = $1', [seeded.shopId]))[0]?.n ?? 0;
    log(`seeded ${orders} orders`);
    const sql = tenantSql(db.prisma, seeded.shopId);
    const params = [seeded.shopId, now.toISOString()];
    const rules: RuleResult[] = [];
    for (const r of behaviourEvents > 0 ? [...RULES, BEHAVIOUR_RULE] : RULES) {
      const apiCount = () => countMatching(sql, parseRule(r.rule), now);
      const apiPage = () => pageMatching(sql, parseRule(r.rule), now, { first: SEGMENT_PAGE });
      const rawCount = () => db.sql.query<{ n: number }>(`SELECT count(*)::int AS n ${r.from}`, params).then((x) => x[0]?.n ?? 0);
      const rawPage = () =>
        db.sql.query<{ id: string }>(
          `SELECT c.id, c."createdAt" ${r.from} ORDER BY c."createdAt" DESC, c.id DESC LIMIT ${SEGMENT_PAGE + 1}`,
          params,
        );
      // Same answers before timing.
      const [ac, rc, ap, rp] = [await apiCount(), await rawCount(), await apiPage(), await rawPage()];
      if (ac !== rc) throw new Error(`${r.name}: count ${ac} (compiled) != ${rc} (hand-written)`);
      const rawIds = rp.slice(0, SEGMENT_PAGE).map((x) => x.id);
      if (JSON.stringify(ap.keys.map((k) => k.id)) !== JSON.stringify(rawIds)) throw new Error(`${r.name}: first pages differ`);
      const warmup = opts.warmup ?? 3;
      const api = { count: await time(opts.iterations, warmup, apiCount), page: await time(opts.iterations, warmup, apiPage) };
      const raw = { count: await time(opts.iterations, warmup, rawCount), page: await time(opts.iterations, warmup, rawPage) };
      const alt: { name: string; count: Timing; page: Timing }[] = [];
      if (r.alt) {
        // The compiled rule over the raw events, and the other hand-written versions (answers verified first).
        const variants: { name: string; count: () => Promise<number>; page: () => Promise<string[]> }[] = [
          {
            name: 'API raw events',
            count: () => countMatching(sql, parseRule(r.rule), now, 'raw'),
            page: async () =>
              (await pageMatching(sql, parseRule(r.rule), now, { first: SEGMENT_PAGE, events: 'raw' })).keys.map((k) => k.id),
          },
          ...r.alt.map((v) => ({
            name: v.name,
            count: async () => (await db.sql.query<{ n: number }>(`SELECT count(*)::int AS n ${v.from}`, params))[0]?.n ?? 0,
            page: async () =>
              (
                await db.sql.query<{ id: string }>(
                  `SELECT c.id, c."createdAt" ${v.from} ORDER BY c."createdAt" DESC, c.id DESC LIMIT ${SEGMENT_PAGE + 1}`,
                  params,
                )
              )
                .slice(0, SEGMENT_PAGE)
                .map((x) => x.id),
          })),
        ];
        for (const v of variants) {
          const [vc, vp] = [await v.count(), await v.page()];
          if (vc !== rc) throw new Error(`${r.name}: count ${vc} (${v.name}) != ${rc} (hand-written)`);
          if (JSON.stringify(vp) !== JSON.stringify(rawIds)) throw new Error(`${r.name}: first pages differ (${v.name})`);
          alt.push({
            name: v.name,
            count: await time(opts.iterations, warmup, v.count),
            page: await time(opts.iterations, warmup, v.page),
          });
        }
      }
      rules.push({
        name: r.name,
        rule: r.rule,
        count: ac,
        api,
        raw,
        ratio: { count: api.count.p50 / raw.count.p50, page: api.page.p50 / raw.page.p50 },
        ...(alt.length ? { alt } : {}),
      });
      log(
        `${r.name}: ${ac} members, count p50 ${fmt(api.count.p50)} ms (raw ${fmt(raw.count.p50)}), page p50 ${fmt(api.page.p50)} ms (raw ${fmt(raw.page.p50)})`,
      );
    }
    return {
      backend: bench.kind,
      note: bench.note,
      customers: opts.customers,
      orders,
      behaviourEvents,
      iterations: opts.iterations,
      seeded,
      rules,
    };
  } finally {
    await bench.close();
  }
}

export function formatSegments(r: SegmentsBenchResult): string {
  const lines = [
    `segments: ${r.customers} customers, ${r.orders} orders, ${r.behaviourEvents} behaviour events, ${r.backend}${r.note ? ` (${r.note})` : ''}, ${r.iterations} iterations`,
    'rule        members  count p50/p95 ms (raw)          page(50) p50/p95 ms (raw)       API / raw (count, page)',
  ];
  for (const x of r.rules) {
    lines.push(
      `${x.name.padEnd(11)} ${String(x.count).padStart(7)}  ${fmt(x.api.count.p50)}/${fmt(x.api.count.p95)} (${fmt(x.raw.count.p50)}/${fmt(x.raw.count.p95)})`.padEnd(
        55,
      ) +
        `${fmt(x.api.page.p50)}/${fmt(x.api.page.p95)} (${fmt(x.raw.page.p50)}/${fmt(x.raw.page.p95)})`.padEnd(32) +
        `${fmt(x.ratio.count, 2)}, ${fmt(x.ratio.page, 2)}`,
    );
    for (const v of x.alt ?? []) {
      lines.push(
        `  ${v.name.padEnd(23)}${fmt(v.count.p50)}/${fmt(v.count.p95)}`.padEnd(55) +
          `${fmt(v.page.p50)}/${fmt(v.page.p95)}`.padEnd(32) +
          `API / this ${fmt(x.api.count.p50 / v.count.p50, 2)}, ${fmt(x.api.page.p50 / v.page.p50, 2)}`,
      );
    }
  }
  return lines.join('\n');
}

export const reportSegments = reporter(formatSegments);
