import { Prisma } from '../../generated/prisma/client.ts';
import { notQuiet } from '../common/quiet.ts';
import { budgetMaxSql, budgetUsedSql } from '../follow-ups/follow-up.budget.ts';
import { churnDueSql, toleranceGapSql } from '../follow-ups/follow-up.timing-sql.ts';
import { counted, countedAmount } from '../orders/order.counting.ts';
import { INDICATOR_COLUMN, INDICATORS, type LoyaltySettings } from './loyalty.settings.ts';

/**
 * The set-based SQL of the loyalty module. `metricsCtes` is ONE statement (a chain of CTEs for
 * `tenantWrite`) that recomputes CustomerMetrics for every customer of a shop (full) or for a set
 * of customers (incremental), detects crossings into HIGH churn risk against the rows' previous
 * values and writes their CHURN_RISK_RAISED events (and, when the shop wants them, retention
 * follow-ups with their FOLLOW_UP_CREATED events) in the same statement.
 *
 * Definitions (documented in the README and the GraphQL descriptions):
 * - orders count by the one rule of orders/order.counting.ts (placed, not cancelled, not refunded,
 *   not excluded, not a competitor purchase; amounts in the base currency, partial refunds
 *   subtracted); interactions when not soft-deleted; both only up to `now`.
 * - recencyDays: whole days since the last order; frequency: orders; monetary = lifetimeValue:
 *   sum of counted amounts; averageOrderValue = monetary / frequency; addOnRatio: share of orders with an
 *   add-on item; typicalGapDays: (last − first order) / (frequency − 1), for two orders or more.
 * - RFM scores 1-5: quintiles among the shop's buyers. A full recompute takes ntile(5) groups and
 *   keeps their boundaries (LoyaltyState.breakpoints); every row (full or incremental) is scored
 *   against the boundaries, so ties score alike and an incremental update matches a full one.
 * - indicators: add-on orders; QA_PARTICIPATION interactions; WORD_OF_MOUTH or REVIEW with
 *   POSITIVE sentiment; EVENT_ATTENDANCE; referred customers (not merged) with a non-cancelled
 *   order; SUGGESTION; SURVEY_RESPONSE unless metadata.completed is false. Score per indicator =
 *   min(100, round(100 × count / target)); loyaltyScore = round(Σ weight × score / Σ weight).
 * - satisfaction: per survey kind (CSAT, NPS) the latest and previous score of the customer's
 *   non-deleted SURVEY_RESPONSE answers (by occurredAt, then id) and when the latest was given;
 *   verySatisfied: the most recent answer of either kind (a tie: CSAT) is CSAT 5 or NPS 9-10.
 * - churn: rhythm = days since last order vs. max(typical gap or defaultGapDays, minGapDays):
 *   ≥ highFactor × gap → 2 points, ≥ mediumFactor × gap → 1; falling engagement (inbound
 *   interactions in the last window < half of the window before, which had ≥ 2) → 1; complaints,
 *   disputes or NEGATIVE interactions in the window → 1 (≥ negativeHigh → 2). HIGH: rhythm 2 or
 *   total ≥ 3; MEDIUM: total ≥ 1; else LOW. Customers who never bought are LOW.
 *   Falling visit frequency (storefront behaviour stitched to the customer): visits = distinct
 *   sessions (an event without a session is its own visit); visits in the last 30 days below half
 *   the monthly average of the 90 days before (which had ≥ 3 visits) → visitDropPoints (default 1).
 * - predictedLifetimeValue = lifetimeValue + AOV × (horizon / gap) × survival, survival 1 / 0.5 /
 *   0.2 for LOW / MEDIUM / HIGH churn risk.
 */

export type MetricsScope = { kind: 'full' } | { kind: 'customers'; ids: string[] };

const num = (n: number) => Prisma.sql`${n}::float8`;

/** `AND <column> = ANY(ids)` for an incremental run, nothing for a full one. */
function only(scope: MetricsScope, column: Prisma.Sql) {
  return scope.kind === 'full' ? Prisma.empty : Prisma.sql`AND ${column} = ANY(${scope.ids}::uuid[])`;
}

/**
 * `quiet` (an import without per-row events: the customers it touched, common/quiet.ts): their
 * crossing into HIGH churn risk is stored but raises nothing, neither CHURN_RISK_RAISED nor a
 * retention follow-up, so importing years of history does not send one event (and create one task)
 * per dormant customer (the import's own IMPORT_COMPLETED stands for them); every other customer's
 * crossing is raised as always.
 */
export function metricsCtes(
  shop: Prisma.Sql,
  scope: MetricsScope,
  s: LoyaltySettings,
  now: Date,
  opts: { quiet?: readonly string[] } = {},
): Prisma.Sql {
  const t = Prisma.sql`${now}::timestamptz`;
  const c = s.churn;
  const window = Prisma.sql`make_interval(days => ${c.windowDays}::int)`;
  const wsum = INDICATORS.reduce((a, k) => a + s.weights[k], 0);
  const scoreOf = (k: (typeof INDICATORS)[number]) =>
    Prisma.sql`LEAST(100, round(100.0 * b.${Prisma.raw(`"${INDICATOR_COLUMN[k]}"`)} / ${s.targets[k]}::int))`;
  const weighted = Prisma.join(
    INDICATORS.map((k) => Prisma.sql`${num(s.weights[k])} * ${scoreOf(k)}`),
    ' + ',
  );
  const full = scope.kind === 'full';
  const bp = full
    ? Prisma.sql`
  nt AS (
    SELECT r, f, m, ntile(5) OVER (ORDER BY r DESC) AS rq, ntile(5) OVER (ORDER BY f) AS fq, ntile(5) OVER (ORDER BY m) AS mq
    FROM base WHERE f > 0),
  bp AS (
    SELECT
      ARRAY(SELECT min(r)::numeric FROM nt WHERE rq < 5 GROUP BY rq ORDER BY rq) AS rb,
      ARRAY(SELECT max(f)::numeric FROM nt WHERE fq < 5 GROUP BY fq ORDER BY fq) AS fb,
      ARRAY(SELECT max(m)::numeric FROM nt WHERE mq < 5 GROUP BY mq ORDER BY mq) AS mb),`
    : Prisma.sql`
  bp AS (
    SELECT
      ARRAY(SELECT jsonb_array_elements_text(COALESCE(st.breakpoints->'r', '[]'))::numeric) AS rb,
      ARRAY(SELECT jsonb_array_elements_text(COALESCE(st.breakpoints->'f', '[]'))::numeric) AS fb,
      ARRAY(SELECT jsonb_array_elements_text(COALESCE(st.breakpoints->'m', '[]'))::numeric) AS mb
    FROM (SELECT 1) AS one LEFT JOIN "LoyaltyState" st ON st."shopId" = ${shop}),`;
  const stateCte = full
    ? Prisma.sql`
  st_up AS (
    INSERT INTO "LoyaltyState" ("shopId", breakpoints, "fullComputedAt", "updatedAt")
    SELECT ${shop}, jsonb_build_object('r', to_jsonb(rb), 'f', to_jsonb(fb), 'm', to_jsonb(mb)), ${t}, ${t} FROM bp
    ON CONFLICT ("shopId") DO UPDATE SET breakpoints = EXCLUDED.breakpoints, "fullComputedAt" = EXCLUDED."fullComputedAt", "updatedAt" = EXCLUDED."updatedAt"
    RETURNING "shopId"),`
    : Prisma.empty;
  const followUps = c.createFollowUp
    ? Prisma.sql`
  fu_due AS (
    SELECT x."customerId", x."churnReasons", cu."ownerId", cu."contactTolerance"::text AS tol,
      GREATEST(${t}, ${churnDueSql(Prisma.sql`cu`, shop, t, c.followUpDueDays)}) AS due
    FROM raised x JOIN "Customer" cu ON cu.id = x."customerId"
    WHERE cu."lostAt" IS NULL
      AND cu."contactTolerance" IS DISTINCT FROM 'NEVER'
      AND (cu."preferredChannel" = 'IN_PERSON' OR EXISTS (
        SELECT 1 FROM "Consent" k WHERE k."customerId" = cu.id AND k.granted))
      AND ${budgetUsedSql(Prisma.sql`cu.id`, Prisma.sql`cu."contactTolerance"::text`, now)} < ${budgetMaxSql(Prisma.sql`cu."contactTolerance"::text`)}),
  fu AS (
    INSERT INTO "FollowUp" ("shopId", "customerId", "assigneeId", kind, "dueAt", goal, "retentionKey", "updatedAt")
    SELECT ${shop}, d."customerId", d."ownerId", 'SERVICE_REMINDER', d.due,
      left('Retention: churn risk HIGH (' || array_to_string(d."churnReasons", '; ') || ')', 500),
      'CHURN:' || d."customerId" || ':' || to_char(${t} AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ${t}
    FROM fu_due d
    WHERE NOT EXISTS (
      SELECT 1 FROM (
        SELECT i."occurredAt" AS at FROM "Interaction" i
          WHERE i."customerId" = d."customerId" AND i."deletedAt" IS NULL AND i.direction = 'OUTBOUND'
        UNION ALL SELECT f."completedAt" FROM "FollowUp" f WHERE f."customerId" = d."customerId" AND f.status = 'DONE'
        UNION ALL SELECT f."dueAt" FROM "FollowUp" f WHERE f."customerId" = d."customerId" AND f.status = 'PLANNED'
      ) o
      WHERE o.at > d.due - make_interval(days => ${toleranceGapSql(Prisma.sql`d.tol`)})
        AND o.at < d.due + make_interval(days => ${toleranceGapSql(Prisma.sql`d.tol`)}))
    ON CONFLICT ("shopId", "retentionKey") DO NOTHING
    RETURNING "shopId", id, "customerId", "assigneeId", "dueAt"),
  fu_ev AS (
    INSERT INTO "Event" ("shopId", type, "customerId", payload)
    SELECT ${shop}, 'FOLLOW_UP_CREATED', fu."customerId", jsonb_build_object(
      'followUpId', encode(convert_to('FollowUp:' || fu.id, 'UTF8'), 'base64'),
      'customerId', encode(convert_to('Customer:' || fu."customerId", 'UTF8'), 'base64'),
      'assigneeId', CASE WHEN fu."assigneeId" IS NULL THEN NULL ELSE encode(convert_to('StaffUser:' || fu."assigneeId", 'UTF8'), 'base64') END,
      'kind', 'SERVICE_REMINDER', 'dueAt', to_char(fu."dueAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'channel', NULL, 'previousId', NULL, 'reason', 'CHURN_RISK_RAISED')
    FROM fu ORDER BY fu."customerId"
    RETURNING "shopId"),`
    : Prisma.empty;
  const written = Prisma.join(
    [
      Prisma.sql`SELECT "shopId" FROM up`,
      Prisma.sql`SELECT "shopId" FROM gone`,
      Prisma.sql`SELECT "shopId" FROM ev`,
      ...(full ? [Prisma.sql`SELECT "shopId" FROM st_up`] : []),
      ...(c.createFollowUp ? [Prisma.sql`SELECT "shopId" FROM fu`, Prisma.sql`SELECT "shopId" FROM fu_ev`] : []),
    ],
    ' UNION ALL ',
  );

  return Prisma.sql`
  ord AS (
    SELECT o."customerId", count(*)::int AS frequency, sum(${countedAmount()}) AS monetary, max(o."placedAt") AS last_at, min(o."placedAt") AS first_at,
      (count(*) FILTER (WHERE a."orderId" IS NOT NULL))::int AS addon_orders
    FROM "Order" o
    LEFT JOIN (SELECT DISTINCT i."orderId" FROM "OrderItem" i
               WHERE i."shopId" = ${shop} AND i."addOn"
               ${full ? Prisma.empty : Prisma.sql`AND i."orderId" IN (SELECT id FROM "Order" WHERE "shopId" = ${shop} ${only(scope, Prisma.sql`"customerId"`)})`}) a
      ON a."orderId" = o.id
    WHERE o."shopId" = ${shop} AND ${counted()} AND o."placedAt" <= ${t} ${only(scope, Prisma.sql`o."customerId"`)}
    GROUP BY o."customerId"),
  ia AS (
    SELECT x."customerId",
      (count(*) FILTER (WHERE x.type = 'QA_PARTICIPATION'))::int AS qa,
      (count(*) FILTER (WHERE x.type IN ('WORD_OF_MOUTH', 'REVIEW') AND x.sentiment = 'POSITIVE'))::int AS wom,
      (count(*) FILTER (WHERE x.type = 'EVENT_ATTENDANCE'))::int AS ev,
      (count(*) FILTER (WHERE x.type = 'SUGGESTION'))::int AS sug,
      (count(*) FILTER (WHERE x.type = 'SURVEY_RESPONSE' AND COALESCE(x.metadata->>'completed', 'true') <> 'false'))::int AS srv,
      (count(*) FILTER (WHERE x.direction = 'INBOUND' AND x."occurredAt" > ${t} - ${window}))::int AS recent,
      (count(*) FILTER (WHERE x.direction = 'INBOUND' AND x."occurredAt" <= ${t} - ${window} AND x."occurredAt" > ${t} - 2 * ${window}))::int AS previous,
      (count(*) FILTER (WHERE x."occurredAt" > ${t} - ${window} AND (x.type IN ('COMPLAINT', 'DISPUTE') OR x.sentiment = 'NEGATIVE')))::int AS negative
    FROM "Interaction" x
    WHERE x."shopId" = ${shop} AND x."deletedAt" IS NULL AND x."occurredAt" <= ${t} ${only(scope, Prisma.sql`x."customerId"`)}
    GROUP BY x."customerId"),
  vis AS (
    SELECT e."customerId",
      (count(DISTINCT COALESCE(e."sessionId", e."visitorId")) FILTER (WHERE e."occurredAt" > ${t} - interval '30 days'))::int AS recent,
      (count(DISTINCT COALESCE(e."sessionId", e."visitorId")) FILTER (WHERE e."occurredAt" <= ${t} - interval '30 days'))::int AS previous
    FROM "BehaviourEvent" e
    WHERE e."shopId" = ${shop} AND e."customerId" IS NOT NULL AND e."occurredAt" > ${t} - interval '120 days' AND e."occurredAt" <= ${t}
      ${only(scope, Prisma.sql`e."customerId"`)}
    GROUP BY e."customerId"),
  sat AS (
    SELECT s."customerId",
      max(s.score) FILTER (WHERE s."surveyKind" = 'CSAT' AND s.rn = 1) AS csat_latest,
      max(s.score) FILTER (WHERE s."surveyKind" = 'CSAT' AND s.rn = 2) AS csat_previous,
      max(s."occurredAt") FILTER (WHERE s."surveyKind" = 'CSAT' AND s.rn = 1) AS csat_at,
      max(s.score) FILTER (WHERE s."surveyKind" = 'NPS' AND s.rn = 1) AS nps_latest,
      max(s.score) FILTER (WHERE s."surveyKind" = 'NPS' AND s.rn = 2) AS nps_previous,
      max(s."occurredAt") FILTER (WHERE s."surveyKind" = 'NPS' AND s.rn = 1) AS nps_at
    FROM (
      SELECT x."customerId", x."surveyKind", x.score, x."occurredAt",
        row_number() OVER (PARTITION BY x."customerId", x."surveyKind" ORDER BY x."occurredAt" DESC, x.id DESC) AS rn
      FROM "Interaction" x
      WHERE x."shopId" = ${shop} AND x."deletedAt" IS NULL AND x."surveyKind" IS NOT NULL AND x."occurredAt" <= ${t}
        ${only(scope, Prisma.sql`x."customerId"`)}) s
    WHERE s.rn <= 2
    GROUP BY s."customerId"),
  refs AS (
    SELECT r."sourceReferrerId" AS "customerId", count(*)::int AS n
    FROM "Customer" r
    WHERE r."shopId" = ${shop} AND r."sourceReferrerId" IS NOT NULL AND r.status <> 'MERGED' ${only(scope, Prisma.sql`r."sourceReferrerId"`)}
      AND EXISTS (SELECT 1 FROM "Order" o WHERE o."customerId" = r.id AND ${counted()} AND o."placedAt" <= ${t})
    GROUP BY r."sourceReferrerId"),
  base AS (
    SELECT cu.id AS "customerId",
      COALESCE(ord.frequency, 0) AS f,
      COALESCE(ord.monetary, 0)::numeric AS m,
      CASE WHEN ord.last_at IS NULL THEN NULL ELSE floor(extract(epoch FROM (${t} - ord.last_at)) / 86400)::int END AS r,
      CASE WHEN ord.frequency >= 2 THEN extract(epoch FROM (ord.last_at - ord.first_at)) / 86400 / (ord.frequency - 1) END::float8 AS gap,
      COALESCE(ord.addon_orders, 0) AS "addOnOrders",
      COALESCE(ia.qa, 0) AS "qaParticipations",
      COALESCE(ia.wom, 0) AS "positiveWordOfMouth",
      COALESCE(ia.ev, 0) AS "eventParticipations",
      COALESCE(refs.n, 0) AS "referralsBought",
      COALESCE(ia.sug, 0) AS "suggestions",
      COALESCE(ia.srv, 0) AS "surveysCompleted",
      COALESCE(ia.recent, 0) AS recent, COALESCE(ia.previous, 0) AS previous, COALESCE(ia.negative, 0) AS negative,
      COALESCE(vis.recent, 0) AS visits_recent, COALESCE(vis.previous, 0) AS visits_previous,
      sat.csat_latest, sat.csat_previous, sat.csat_at, sat.nps_latest, sat.nps_previous, sat.nps_at,
      COALESCE(CASE WHEN sat.nps_at IS NULL OR sat.csat_at >= sat.nps_at THEN sat.csat_latest >= 5 ELSE sat.nps_latest >= 9 END, false) AS very_satisfied
    FROM "Customer" cu
    LEFT JOIN ord ON ord."customerId" = cu.id
    LEFT JOIN ia ON ia."customerId" = cu.id
    LEFT JOIN vis ON vis."customerId" = cu.id
    LEFT JOIN sat ON sat."customerId" = cu.id
    LEFT JOIN refs ON refs."customerId" = cu.id
    WHERE cu."shopId" = ${shop} AND cu.status <> 'MERGED' ${only(scope, Prisma.sql`cu.id`)}),
  ${bp}
  scored AS (
    SELECT b.*,
      CASE WHEN b.f = 0 THEN 0 ELSE 1 + (SELECT count(*) FROM unnest(bp.rb) v WHERE b.r < v) END::int AS rs,
      CASE WHEN b.f = 0 THEN 0 ELSE 1 + (SELECT count(*) FROM unnest(bp.fb) v WHERE b.f > v) END::int AS fs,
      CASE WHEN b.f = 0 THEN 0 ELSE 1 + (SELECT count(*) FROM unnest(bp.mb) v WHERE b.m > v) END::int AS ms,
      round((${weighted}) / ${num(wsum)})::int AS score,
      GREATEST(COALESCE(b.gap, ${c.defaultGapDays}::int), ${c.minGapDays}::int)::float8 AS eff_gap,
      CASE WHEN b.f = 0 THEN 0
           WHEN b.r >= ${num(c.highFactor)} * GREATEST(COALESCE(b.gap, ${c.defaultGapDays}::int), ${c.minGapDays}::int) THEN 2
           WHEN b.r >= ${num(c.mediumFactor)} * GREATEST(COALESCE(b.gap, ${c.defaultGapDays}::int), ${c.minGapDays}::int) THEN 1
           ELSE 0 END AS rhythm,
      CASE WHEN b.previous >= 2 AND b.recent * 2 < b.previous THEN 1 ELSE 0 END AS fell,
      CASE WHEN b.negative >= ${c.negativeHigh}::int THEN 2 WHEN b.negative >= 1 THEN 1 ELSE 0 END AS neg,
      CASE WHEN b.visits_previous >= 3 AND b.visits_recent * 6 < b.visits_previous THEN ${c.visitDropPoints}::int ELSE 0 END AS vdrop
    FROM base b CROSS JOIN bp),
  risk AS (
    SELECT sc.*,
      CASE WHEN sc.f = 0 THEN 'LOW'
           WHEN sc.rhythm = 2 OR sc.rhythm + sc.fell + sc.neg + sc.vdrop >= 3 THEN 'HIGH'
           WHEN sc.rhythm + sc.fell + sc.neg + sc.vdrop >= 1 THEN 'MEDIUM'
           ELSE 'LOW' END AS level,
      CASE WHEN sc.f = 0 THEN ARRAY[]::text[] ELSE array_remove(ARRAY[
        CASE WHEN sc.rhythm > 0 THEN format('%s days since the last order; typical gap %s days', sc.r, round(sc.eff_gap::numeric)) END,
        CASE WHEN sc.fell > 0 THEN format('inbound interactions fell from %s to %s (last %s days vs. the %s before)', sc.previous, sc.recent, ${c.windowDays}::int, ${c.windowDays}::int) END,
        CASE WHEN sc.neg > 0 THEN format('%s complaints, disputes or negative interactions in the last %s days', sc.negative, ${c.windowDays}::int) END,
        CASE WHEN sc.vdrop > 0 THEN format('storefront visits fell to %s in the last 30 days from a monthly average of %s in the 90 days before', sc.visits_recent, round(sc.visits_previous / 3.0, 1)) END
      ], NULL) END AS reasons
    FROM scored sc),
  up AS (
    INSERT INTO "CustomerMetrics" ("shopId", "customerId", "recencyDays", frequency, monetary, "recencyScore", "frequencyScore", "monetaryScore", rfm,
      "averageOrderValue", "lifetimeValue", "predictedLifetimeValue", "addOnRatio", "typicalGapDays",
      "addOnOrders", "qaParticipations", "positiveWordOfMouth", "eventParticipations", "referralsBought", suggestions, "surveysCompleted",
      "csatLatest", "csatPrevious", "csatAt", "npsLatest", "npsPrevious", "npsAt", "verySatisfied",
      "loyaltyScore", "churnRisk", "churnReasons", "visitsLast30Days", "visitsPrevious90Days", "computedAt")
    SELECT ${shop}, k."customerId", k.r, k.f, k.m, k.rs, k.fs, k.ms,
      CASE WHEN k.f = 0 THEN NULL ELSE k.rs::text || k.fs::text || k.ms::text END,
      CASE WHEN k.f = 0 THEN 0 ELSE round(k.m / k.f, 2) END,
      k.m,
      CASE WHEN k.f = 0 THEN 0 ELSE round(k.m + (k.m / k.f) * (${s.predictionHorizonDays}::int / k.eff_gap)::numeric
        * (CASE k.level WHEN 'LOW' THEN 1 WHEN 'MEDIUM' THEN 0.5 ELSE 0.2 END), 2) END,
      CASE WHEN k.f = 0 THEN 0 ELSE k."addOnOrders"::float8 / k.f END,
      k.gap,
      k."addOnOrders", k."qaParticipations", k."positiveWordOfMouth", k."eventParticipations", k."referralsBought", k.suggestions, k."surveysCompleted",
      k.csat_latest, k.csat_previous, k.csat_at, k.nps_latest, k.nps_previous, k.nps_at, k.very_satisfied,
      k.score, k.level::"ChurnRisk", k.reasons, k.visits_recent, k.visits_previous, ${t}
    FROM risk k
    ON CONFLICT ("customerId") DO UPDATE SET
      "recencyDays" = EXCLUDED."recencyDays", frequency = EXCLUDED.frequency, monetary = EXCLUDED.monetary,
      "recencyScore" = EXCLUDED."recencyScore", "frequencyScore" = EXCLUDED."frequencyScore", "monetaryScore" = EXCLUDED."monetaryScore",
      rfm = EXCLUDED.rfm, "averageOrderValue" = EXCLUDED."averageOrderValue", "lifetimeValue" = EXCLUDED."lifetimeValue",
      "predictedLifetimeValue" = EXCLUDED."predictedLifetimeValue", "addOnRatio" = EXCLUDED."addOnRatio", "typicalGapDays" = EXCLUDED."typicalGapDays",
      "addOnOrders" = EXCLUDED."addOnOrders", "qaParticipations" = EXCLUDED."qaParticipations", "positiveWordOfMouth" = EXCLUDED."positiveWordOfMouth",
      "eventParticipations" = EXCLUDED."eventParticipations", "referralsBought" = EXCLUDED."referralsBought", suggestions = EXCLUDED.suggestions,
      "surveysCompleted" = EXCLUDED."surveysCompleted",
      "csatLatest" = EXCLUDED."csatLatest", "csatPrevious" = EXCLUDED."csatPrevious", "csatAt" = EXCLUDED."csatAt",
      "npsLatest" = EXCLUDED."npsLatest", "npsPrevious" = EXCLUDED."npsPrevious", "npsAt" = EXCLUDED."npsAt", "verySatisfied" = EXCLUDED."verySatisfied",
      "loyaltyScore" = EXCLUDED."loyaltyScore", "churnRisk" = EXCLUDED."churnRisk",
      "churnReasons" = EXCLUDED."churnReasons",
      "visitsLast30Days" = EXCLUDED."visitsLast30Days", "visitsPrevious90Days" = EXCLUDED."visitsPrevious90Days", "computedAt" = EXCLUDED."computedAt"
    WHERE "CustomerMetrics"."shopId" = ${shop}
    RETURNING "shopId"),
  gone AS (
    DELETE FROM "CustomerMetrics" gm USING "Customer" gc
    WHERE gm."shopId" = ${shop} AND gc.id = gm."customerId" AND gc.status = 'MERGED' ${only(scope, Prisma.sql`gm."customerId"`)}
    RETURNING gm."shopId"),
  raised AS (
    SELECT k."customerId", k.reasons AS "churnReasons", old."churnRisk"::text AS "from"
    FROM risk k LEFT JOIN "CustomerMetrics" old ON old."customerId" = k."customerId" AND old."shopId" = ${shop}
    WHERE k.level = 'HIGH' AND old."churnRisk" IS DISTINCT FROM 'HIGH' AND ${notQuiet(Prisma.sql`k."customerId"`, opts.quiet)}),
  ev AS (
    INSERT INTO "Event" ("shopId", type, "customerId", payload)
    SELECT ${shop}, 'CHURN_RISK_RAISED', x."customerId", jsonb_build_object(
      'customerId', encode(convert_to('Customer:' || x."customerId", 'UTF8'), 'base64'),
      'from', COALESCE(x."from", 'LOW'), 'to', 'HIGH', 'reasons', to_jsonb(x."churnReasons"))
    FROM raised x ORDER BY x."customerId"
    RETURNING "shopId"),
  ${stateCte}
  ${followUps}
  written AS (${written})`;
}

/** The lock every recompute of a shop takes first: recomputes of one shop run one at a time. */
export function lockStateCtes(shop: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
  ins AS (INSERT INTO "LoyaltyState" ("shopId") VALUES (${shop}) ON CONFLICT ("shopId") DO NOTHING RETURNING "shopId"),
  written AS (SELECT "shopId" FROM ins)`;
}
