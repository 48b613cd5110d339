/**
 * Benchmark harness: the loyalty module's full recompute (CustomerMetrics for every customer of a
 * shop: RFM, values, seven indicators, score, churn) and the shop KPI query, over a shop with
 * many customers, interactions and orders. Each is timed through the module (its service function,
 * with its transaction, lock and tenant guard) and as the very same SQL sent raw through the
 * database driver, in the same run; the report gives the ratio. Also the incremental refresh of one
 * customer. Seeding is set-based SQL (generate_series). Nothing here asserts on timings.
 */
import type { Database } from '../packages/server/src/db/database.ts';
import { shopBound } from '../packages/server/src/db/shop-bound.ts';
import { tenantSql } from '../packages/server/src/db/tenant-sql.ts';
import { Prisma } from '../packages/server/src/generated/prisma/client.ts';
import { kpiSql, recomputeCustomers, recomputeLoyalty, shopKpis } from '../packages/server/src/modules/loyalty/loyalty.service.ts';
import { DEFAULT_LOYALTY } from '../packages/server/src/modules/loyalty/loyalty.settings.ts';
import { metricsCtes } from '../packages/server/src/modules/loyalty/loyalty.sql.ts';
import { indicatorDiagnosis, satisfactionIndex } from '../packages/server/src/modules/loyalty/satisfaction.service.ts';
import { fmt, type OpenOptions, openBenchDatabase, reporter, seed } from './harness.ts';

export type LoyaltyOptions = OpenOptions & {
  customers: number;
  interactions: number;
  /** Repetitions of each timed run (median reported). */
  rounds: number;
  log?: (line: string) => void;
};

export type LoyaltyResult = {
  backend: 'postgres' | 'pglite';
  note?: string;
  seeded: { customers: number; orders: number; orderItems: number; interactions: number; referrals: number; ms: number };
  recompute: { coldMs: number; moduleMs: number[]; rawMs: number[]; moduleMedianMs: number; rawMedianMs: number; ratio: number };
  incremental: { oneCustomerMs: number };
  kpis: { moduleMs: number[]; rawMs: number[]; moduleMedianMs: number; rawMedianMs: number; ratio: number };
  metrics: { rows: number; high: number; medium: number; low: number; averageScore: number };
  /** satisfactionIndex(12 months) and loyaltyIndicatorDiagnosis(6 months), through the module (medians). */
  satisfaction: { answers: number; indexMs: number; diagnosisMs: number };
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const since = (t: number) => Math.round(performance.now() - t);

/** Orders (0-3 per customer, every 20th cancelled, one item each, a third with an add-on), interactions, referrals. */
async function seedActivity(db: Database, shopId: string, interactions: number, customers: number) {
  const perCustomer = Math.max(1, Math.ceil(interactions / Math.max(1, customers)));
  await db.sql.query(
    `INSERT INTO "Order" (id, "shopId", "customerId", "externalId", status, "placedAt", currency, subtotal, total, "exchangeRate", "createdAt", "updatedAt")
     SELECT gen_random_uuid(), $1::uuid, c.id, 'bench-' || c.n || '-' || g,
       (CASE WHEN (c.n + g) % 20 = 0 THEN 'CANCELLED' ELSE 'PAID' END)::"OrderStatus",
       now() - ((c.n * 7 + g * 53) % 720) * interval '1 day', 'EUR',
       ((c.n * 37 + g * 11) % 900 + 20)::numeric(14,2), ((c.n * 37 + g * 11) % 900 + 20)::numeric(14,2), 1, now(), now()
     FROM (SELECT c.id, row_number() OVER (ORDER BY c.id) AS n FROM "Customer" c WHERE c."shopId" = $1::uuid) c,
       generate_series(1, (c.n % 4)::int) g`,
    [shopId],
  );
  await db.sql.query(
    `INSERT INTO "OrderItem" (id, "shopId", "orderId", position, name, quantity, "unitPrice", "addOn")
     SELECT gen_random_uuid(), $1::uuid, o.id, 0, 'Item', 1, o.total, (abs(hashtext(o.id::text)) % 3 = 0)
     FROM "Order" o WHERE o."shopId" = $1::uuid`,
    [shopId],
  );
  await db.sql.query(
    `INSERT INTO "Interaction" (id, "shopId", "customerId", channel, direction, type, sentiment, "occurredAt", metadata, source, "createdAt", "updatedAt")
     SELECT gen_random_uuid(), $1::uuid, c.id, 'WEB',
       (CASE WHEN g % 3 = 0 THEN 'OUTBOUND' ELSE 'INBOUND' END)::"InteractionDirection",
       (ARRAY['QA_PARTICIPATION','WORD_OF_MOUTH','REVIEW','EVENT_ATTENDANCE','SUGGESTION','SURVEY_RESPONSE','COMPLAINT','MESSAGE','INQUIRY','VISIT'])[1 + (c.n * 31 + g * 17) % 10]::"InteractionType",
       (ARRAY['POSITIVE','NEUTRAL','NEGATIVE','POSITIVE'])[1 + (c.n + g * 7) % 4]::"Sentiment",
       now() - ((c.n * 13 + g * 29) % 400) * interval '1 day',
       CASE WHEN (c.n + g) % 5 = 0 THEN '{"completed": false}'::jsonb ELSE '{}'::jsonb END, 'api', now(), now()
     FROM (SELECT c.id, row_number() OVER (ORDER BY c.id) AS n FROM "Customer" c WHERE c."shopId" = $1::uuid) c,
       generate_series(1, $2::int) g
     WHERE (c.n - 1) * $2::int + g <= $3::int`,
    [shopId, perCustomer, interactions],
  );
  // Satisfaction: survey responses are CSAT or NPS answers with a score in the kind's scale.
  await db.sql.query(
    `UPDATE "Interaction" SET "surveyKind" = (CASE WHEN abs(hashtext(id::text)) % 2 = 0 THEN 'CSAT' ELSE 'NPS' END)::"SurveyKind",
       score = CASE WHEN abs(hashtext(id::text)) % 2 = 0 THEN 1 + abs(hashtext(id::text)) % 5 ELSE abs(hashtext(id::text)) % 11 END
     WHERE "shopId" = $1::uuid AND type = 'SURVEY_RESPONSE'`,
    [shopId],
  );
  // Every 10th customer was referred by the customer before it.
  await db.sql.query(
    `WITH c AS (SELECT id, lag(id) OVER (ORDER BY id) AS prev, row_number() OVER (ORDER BY id) AS n FROM "Customer" WHERE "shopId" = $1::uuid)
     UPDATE "Customer" cu SET "sourceReferrerId" = c.prev, "sourceChannel" = 'REFERRAL'
     FROM c WHERE cu.id = c.id AND c.n % 10 = 0 AND c.prev IS NOT NULL`,
    [shopId],
  );
  for (const table of ['Order', 'OrderItem', 'Interaction', 'Customer']) await db.sql.exec(`VACUUM ANALYZE "${table}"`);
}

/** The module's statement exactly as it is sent (same text and parameters), for the raw baseline. */
function rawMetricsStatement(shopId: string, now: Date) {
  const shop = Prisma.sql`${shopId}::uuid`;
  return Prisma.sql`WITH ${metricsCtes(shop, { kind: 'full' }, DEFAULT_LOYALTY, now)} SELECT count(*)::int AS n FROM written`;
}

export async function runLoyalty(opts: LoyaltyOptions): Promise<LoyaltyResult> {
  const log = opts.log ?? (() => {});
  const bench = await openBenchDatabase(opts);
  try {
    const { db } = bench;
    log(`seeding ${opts.customers} customers, ${opts.interactions} interactions and their orders (${bench.kind})`);
    const t0 = performance.now();
    const seeded = await seed(db, { customers: opts.customers, staff: 3 });
    await seedActivity(db, seeded.shopId, opts.interactions, opts.customers);
    const count = async (table: string) =>
      Number((await db.sql.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}" WHERE "shopId" = $1::uuid`, [seeded.shopId]))[0]?.n);
    const seededInfo = {
      customers: opts.customers,
      orders: await count('Order'),
      orderItems: await count('OrderItem'),
      interactions: await count('Interaction'),
      referrals: Number(
        (
          await db.sql.query<{ n: string }>(
            `SELECT count(*) AS n FROM "Customer" WHERE "shopId" = $1::uuid AND "sourceReferrerId" IS NOT NULL`,
            [seeded.shopId],
          )
        )[0]?.n,
      ),
      ms: since(t0),
    };
    log(`seeded in ${seededInfo.ms} ms: ${JSON.stringify(seededInfo)}`);

    const now = new Date();
    let t = performance.now();
    await recomputeLoyalty(shopBound(db.prisma, seeded.shopId), now);
    const coldMs = since(t);
    log(`first full recompute (inserts every row): ${coldMs} ms`);
    const moduleMs: number[] = [];
    const rawMs: number[] = [];
    const raw = rawMetricsStatement(seeded.shopId, now);
    for (let i = 0; i < opts.rounds; i++) {
      t = performance.now();
      await db.sql.query(raw.text, raw.values as unknown[]);
      rawMs.push(since(t));
      t = performance.now();
      await recomputeLoyalty(shopBound(db.prisma, seeded.shopId), now);
      moduleMs.push(since(t));
      log(`round ${i + 1}: module ${moduleMs.at(-1)} ms, raw ${rawMs.at(-1)} ms`);
    }

    const one = (await db.sql.query<{ id: string }>(`SELECT id FROM "Customer" WHERE "shopId" = $1::uuid LIMIT 1`, [seeded.shopId]))[0]
      ?.id as string;
    t = performance.now();
    await recomputeCustomers(shopBound(db.prisma, seeded.shopId), [one], now);
    const oneCustomerMs = since(t);

    const from = new Date(now.getTime() - 365 * 86_400_000);
    const kModule: number[] = [];
    const kRaw: number[] = [];
    const kq = Prisma.sql`SELECT * FROM (${kpiSql(Prisma.sql`${seeded.shopId}::uuid`, from, now)}) AS tenant_rows`;
    for (let i = 0; i < opts.rounds; i++) {
      t = performance.now();
      await db.sql.query(kq.text, kq.values as unknown[]);
      kRaw.push(since(t));
      t = performance.now();
      await shopKpis(tenantSql(db.prisma, seeded.shopId), from, now);
      kModule.push(since(t));
    }

    const sql = tenantSql(db.prisma, seeded.shopId);
    const idxMs: number[] = [];
    const diagMs: number[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      t = performance.now();
      await satisfactionIndex(sql, DEFAULT_LOYALTY, 12, now);
      idxMs.push(since(t));
      t = performance.now();
      await indicatorDiagnosis(sql, DEFAULT_LOYALTY, 6, now);
      diagMs.push(since(t));
    }
    const answers = await db.sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM "Interaction" WHERE "shopId" = $1::uuid AND "surveyKind" IS NOT NULL`,
      [seeded.shopId],
    );

    const [m] = await db.sql.query<{ rows: string; high: string; medium: string; low: string; avg: string }>(
      `SELECT count(*) AS rows, count(*) FILTER (WHERE "churnRisk" = 'HIGH') AS high, count(*) FILTER (WHERE "churnRisk" = 'MEDIUM') AS medium,
         count(*) FILTER (WHERE "churnRisk" = 'LOW') AS low, round(avg("loyaltyScore"), 1) AS avg FROM "CustomerMetrics" WHERE "shopId" = $1::uuid`,
      [seeded.shopId],
    );
    const rm = median(rawMs);
    const mm = median(moduleMs);
    const krm = median(kRaw);
    const kmm = median(kModule);
    return {
      backend: bench.kind,
      note: bench.note,
      seeded: seededInfo,
      recompute: { coldMs, moduleMs, rawMs, moduleMedianMs: mm, rawMedianMs: rm, ratio: rm > 0 ? mm / rm : Number.NaN },
      incremental: { oneCustomerMs },
      kpis: { moduleMs: kModule, rawMs: kRaw, moduleMedianMs: kmm, rawMedianMs: krm, ratio: krm > 0 ? kmm / krm : Number.NaN },
      metrics: {
        rows: Number(m?.rows),
        high: Number(m?.high),
        medium: Number(m?.medium),
        low: Number(m?.low),
        averageScore: Number(m?.avg),
      },
      satisfaction: { answers: Number(answers[0]?.n), indexMs: median(idxMs), diagnosisMs: median(diagMs) },
    };
  } finally {
    await bench.close();
  }
}

export function formatLoyaltyReport(r: LoyaltyResult): string {
  return [
    `Loyalty recompute (${r.backend}${r.note ? `; ${r.note}` : ''})`,
    `  seeded: ${r.seeded.customers} customers, ${r.seeded.orders} orders (${r.seeded.orderItems} items), ${r.seeded.interactions} interactions, ${r.seeded.referrals} referrals in ${fmt(r.seeded.ms / 1000)} s`,
    `  full recompute, first (inserts):  ${r.recompute.coldMs} ms`,
    `  full recompute, module (median):  ${r.recompute.moduleMedianMs} ms   raw SQL (median): ${r.recompute.rawMedianMs} ms   module / raw: ${fmt(r.recompute.ratio, 2)}`,
    `  incremental, one customer:        ${r.incremental.oneCustomerMs} ms`,
    `  shopKpis (1 year), module:        ${r.kpis.moduleMedianMs} ms   raw SQL: ${r.kpis.rawMedianMs} ms   module / raw: ${fmt(r.kpis.ratio, 2)}`,
    `  satisfactionIndex (12 months):    ${r.satisfaction.indexMs} ms   indicator diagnosis (6 months): ${r.satisfaction.diagnosisMs} ms   (${r.satisfaction.answers} CSAT / NPS answers)`,
    `  metrics rows: ${r.metrics.rows} (HIGH ${r.metrics.high}, MEDIUM ${r.metrics.medium}, LOW ${r.metrics.low}; average score ${r.metrics.averageScore})`,
  ].join('\n');
}

export const reportLoyalty = reporter(formatLoyaltyReport);
