import { Prisma } from '../../generated/prisma/client.ts';
import { notQuiet } from '../common/quiet.ts';
import { counted } from '../orders/order.counting.ts';
import { compileRule } from '../segments/segment.compile.ts';
import type { StageRules } from './lifecycle.rules.ts';
import type { LifecycleSettings } from './lifecycle.settings.ts';

/**
 * The facts the automatic ladder reads, one row per live customer, in one set-based statement
 * (no per-customer queries): counted orders (order.counting.ts, the one counting rule) with the
 * span between the first and the latest, positive WORD_OF_MOUTH / REVIEW interactions in the
 * advocate window, referred customers who bought, and the churn model's risk (CustomerMetrics).
 * `sig` is the facts' signature kept at a manual move (see lifecycle.service.ts).
 */
export type Scope = { kind: 'shop' } | { kind: 'customers'; ids: string[] };

/** The customers in scope a stage rule matches (the segment compiler's one statement, as a CTE body). */
function ruleMembers(shop: Prisma.Sql, scope: Scope, rules: StageRules, stage: keyof StageRules, now: Date): Prisma.Sql {
  const onlyCustomers = scope.kind === 'customers' ? scope.ids : null;
  const c = compileRule(rules[stage].rule, { shop, now, onlyCustomers });
  const only = onlyCustomers ? Prisma.sql`AND c.id = ANY(${onlyCustomers}::uuid[])` : Prisma.empty;
  return Prisma.sql`SELECT c.id FROM "Customer" c ${c.joins}
    WHERE c."shopId" = ${shop} AND c.status = 'ACTIVE'::"CustomerStatus" ${only} AND ${c.where}`;
}

/**
 * Each customer's counted orders (count, first and latest) as `o` and positive word of mouth /
 * reviews in the advocate window as `i`. For a list of customers: a lookup per customer (LATERAL,
 * through the per-customer indexes). For the whole shop: one grouped pass over each table, joined by
 * hash; the lookups cost a loop of index scans per customer (measured at 100,000 customers with
 * 200,000 orders: 2.8 s of a 10 s ladder pass, the grouped passes under 0.3 s). Same facts either
 * way: a customer without rows gets no `o`/`i` row, read as 0 (coalesce) like an empty aggregate.
 */
function activityJoins(shop: Prisma.Sql, scope: Scope, s: LifecycleSettings, at: Prisma.Sql): Prisma.Sql {
  const positive = (x: string) => Prisma.sql`${Prisma.raw(x)}."deletedAt" IS NULL
          AND ${Prisma.raw(x)}.type IN ('WORD_OF_MOUTH', 'REVIEW') AND ${Prisma.raw(x)}.sentiment = 'POSITIVE'
          AND ${Prisma.raw(x)}."occurredAt" > ${at} - make_interval(days => ${s.advocateWindowDays}::int) AND ${Prisma.raw(x)}."occurredAt" <= ${at}`;
  const orders = Prisma.sql`(count(*) FILTER (WHERE ${counted('x')}))::int AS n,
          min(x."placedAt") FILTER (WHERE ${counted('x')}) AS first_at,
          max(x."placedAt") FILTER (WHERE ${counted('x')}) AS last_at`;
  if (scope.kind === 'shop') {
    return Prisma.sql`LEFT JOIN (
        SELECT x."customerId" AS cid, ${orders}
        FROM "Order" x WHERE x."shopId" = ${shop} GROUP BY x."customerId"
      ) o ON o.cid = c.id
      LEFT JOIN (
        SELECT x."customerId" AS cid, count(*)::int AS n FROM "Interaction" x
        WHERE x."shopId" = ${shop} AND ${positive('x')}
        GROUP BY x."customerId"
      ) i ON i.cid = c.id`;
  }
  return Prisma.sql`LEFT JOIN LATERAL (
        SELECT ${orders}
        FROM "Order" x WHERE x."shopId" = c."shopId" AND x."customerId" = c.id
      ) o ON true
      LEFT JOIN LATERAL (
        SELECT count(*)::int AS n FROM "Interaction" x
        WHERE x."customerId" = c.id AND x."shopId" = c."shopId" AND ${positive('x')}
      ) i ON true`;
}

export function factsSql(shop: Prisma.Sql, scope: Scope, s: LifecycleSettings, now: Date, rules: StageRules): Prisma.Sql {
  const at = Prisma.sql`${now}::timestamptz`;
  const only = scope.kind === 'customers' ? Prisma.sql`AND c.id = ANY(${scope.ids}::uuid[])` : Prisma.empty;
  const onlyReferrers = scope.kind === 'customers' ? Prisma.sql`AND rc."sourceReferrerId" = ANY(${scope.ids}::uuid[])` : Prisma.empty;
  return Prisma.sql`
    rule_loyal AS MATERIALIZED (${ruleMembers(shop, scope, rules, 'LOYAL', now)}),
    rule_advocate AS MATERIALIZED (${ruleMembers(shop, scope, rules, 'ADVOCATE', now)}),
    rule_strategic AS MATERIALIZED (${ruleMembers(shop, scope, rules, 'STRATEGIC', now)}),
    facts AS (
      SELECT c."shopId", c.id, c.stage::text AS stage, c."partnerKind"::text AS "partnerKind", c."stageFactsAtManual",
        coalesce(o.n, 0) AS orders,
        coalesce(floor(extract(epoch FROM (o.last_at - o.first_at)) / 86400), 0)::int AS "spanDays",
        coalesce(i.n, 0) AS positive,
        coalesce(r.n, 0) AS referrals,
        coalesce(m."churnRisk"::text, 'LOW') AS "churnRisk",
        coalesce(m."churnReasons", '{}') AS "churnReasons",
        m.frequency AS "metricsOrders"
      FROM "Customer" c
      ${activityJoins(shop, scope, s, at)}
      LEFT JOIN (
        SELECT rc."sourceReferrerId" AS rid, count(*)::int AS n FROM "Customer" rc
        WHERE rc."shopId" = ${shop} AND rc."sourceReferrerId" IS NOT NULL AND rc.status <> 'MERGED' ${onlyReferrers}
          AND EXISTS (SELECT 1 FROM "Order" ro WHERE ro."shopId" = rc."shopId" AND ro."customerId" = rc.id AND ${counted('ro')})
        GROUP BY rc."sourceReferrerId"
      ) r ON r.rid = c.id
      LEFT JOIN "CustomerMetrics" m ON m."shopId" = c."shopId" AND m."customerId" = c.id
      WHERE c."shopId" = ${shop} AND c.status = 'ACTIVE' ${only}
    ),
    signed AS (
      SELECT f.*, format('orders=%s positive=%s referrals=%s churn=%s', f.orders, f.positive, f.referrals, f."churnRisk") AS sig,
        f.orders >= 2 AND f.id IN (SELECT id FROM rule_loyal) AS loyal,
        f.orders >= 2 AND f.id IN (SELECT id FROM rule_advocate) AS advocate,
        f.orders >= 1 AND f.id IN (SELECT id FROM rule_strategic) AS strategic,
        round(f."spanDays" / 30.44)::int AS months
      FROM facts f
    )`;
}

/**
 * The stage the facts support (null: the facts do not move this customer), and the reason in words.
 * - PARTNER is staff-only; a PARTNER with no partner kind recorded (the old merged meaning of PARTNER,
 *   before STRATEGIC existed) and enough referred buyers moves to STRATEGIC (the data migration).
 * - CHURNED is left only by a new counted order (orders module); leads without orders do not move.
 * - CHURNED needs churn risk HIGH from metrics that saw all of the customer's counted orders
 *   (CustomerMetrics.frequency = the counted orders now): stale metrics never re-churn a customer
 *   who just ordered again.
 */
export function targetSql(s: LifecycleSettings, rules: StageRules): Prisma.Sql {
  // A custom rule is named in the reason (clipped): "... (shop rule: orders.count >= 2 AND ...)".
  const named = (stage: keyof StageRules) =>
    rules[stage].custom
      ? Prisma.sql` || ${` (shop rule: ${rules[stage].text.length > 200 ? `${rules[stage].text.slice(0, 199)}…` : rules[stage].text})`}::text`
      : Prisma.empty;
  const repeatWhy = rules.LOYAL.custom
    ? Prisma.sql`' (the shop''s LOYAL rule does not match)'`
    : Prisma.sql`CASE WHEN t.orders >= ${s.loyalMinOrders}::int THEN format(' (LOYAL needs %s days between the first and the latest)', ${s.loyalMinSpanDays}::int)
              ELSE format(' (LOYAL needs %s orders)', ${s.loyalMinOrders}::int) END`;
  const churn = s.churnOnHighRisk ? Prisma.sql`WHEN f."churnRisk" = 'HIGH' AND f."metricsOrders" = f.orders THEN 'CHURNED'` : Prisma.empty;
  return Prisma.sql`
    targets AS (
      SELECT f.*, CASE
          WHEN f.stage = 'PARTNER' THEN CASE
            WHEN f."partnerKind" IS NULL AND f.strategic THEN 'STRATEGIC' END
          WHEN f.stage = 'CHURNED' OR f.orders = 0 THEN NULL
          ${churn}
          WHEN f.strategic THEN 'STRATEGIC'
          WHEN f.advocate THEN 'ADVOCATE'
          WHEN f.loyal THEN 'LOYAL'
          WHEN f.orders >= 2 THEN 'REPEAT'
          ELSE 'FIRST_PURCHASE'
        END AS target
      FROM signed f
    ),
    reasoned AS (
      SELECT t.*, CASE t.target
          WHEN 'CHURNED' THEN 'Churn risk HIGH' || coalesce(': ' || nullif(array_to_string(t."churnReasons", '; '), ''), '')
          WHEN 'STRATEGIC' THEN format('%s referred customers bought', t.referrals) ${named('STRATEGIC')}
            || CASE WHEN t.stage = 'PARTNER' THEN ' (was PARTNER with no partner kind: migrated to STRATEGIC)' ELSE '' END
          WHEN 'ADVOCATE' THEN format('%s orders over %s months and %s positive reviews / word of mouth in %s days',
            t.orders, t.months, t.positive, ${s.advocateWindowDays}::int) ${named('ADVOCATE')}
          WHEN 'LOYAL' THEN format('%s orders over %s months', t.orders, t.months) ${named('LOYAL')}
            || CASE WHEN t.stage IN ('ADVOCATE', 'STRATEGIC') THEN format('; %s positive reviews / word of mouth in %s days, %s referred customers bought',
              t.positive, ${s.advocateWindowDays}::int, t.referrals) ELSE '' END
          WHEN 'REPEAT' THEN format('%s orders over %s months', t.orders, t.months)
            || ${repeatWhy}
          ELSE '1 order'
        END AS reason
      FROM targets t
    )`;
}

/**
 * Moves every customer in scope whose facts support another stage: updates the stage, appends a
 * StageTransition (AUTOMATIC, with the reason) and a STAGE_CHANGED event, all in this one statement.
 * A customer staff moved by hand is left alone while the facts keep the signature of that moment.
 * The `stage = from` guard skips a customer whose stage changed meanwhile (the next pass sees it).
 * `quiet` (a bulk import without per-row events: the customers it touched, common/quiet.ts) moves
 * those customers without their STAGE_CHANGED events.
 */
export function applySql(
  shop: Prisma.Sql,
  scope: Scope,
  s: LifecycleSettings,
  now: Date,
  rules: StageRules,
  quiet?: readonly string[],
): Prisma.Sql {
  // `now` places the fact windows; the move itself is recorded at the moment it happens.
  const at = Prisma.sql`now()`;
  return Prisma.sql`
    ${factsSql(shop, scope, s, now, rules)},
    ${targetSql(s, rules)},
    moved AS (
      SELECT * FROM reasoned
      WHERE target IS NOT NULL AND target <> stage
        AND ("stageFactsAtManual" IS NULL OR "stageFactsAtManual" <> sig)
    ),
    upd AS (
      UPDATE "Customer" c SET stage = m.target::"LifecycleStage", version = c.version + 1, "stageFactsAtManual" = NULL, "updatedAt" = ${at}
      FROM moved m WHERE c."shopId" = ${shop} AND c.id = m.id AND c.stage::text = m.stage
      RETURNING c."shopId", c.id, m.stage AS "fromStage", m.target, m.reason
    ),
    tr AS (
      INSERT INTO "StageTransition" ("shopId", "customerId", "fromStage", "toStage", source, reason, at)
      SELECT u."shopId", u.id, u."fromStage"::"LifecycleStage", u.target::"LifecycleStage", 'AUTOMATIC', u.reason, ${at} FROM upd u
      RETURNING "shopId"
    ),
    ev AS (
      INSERT INTO "Event" ("shopId", type, "customerId", payload)
      SELECT u."shopId", 'STAGE_CHANGED', u.id, jsonb_build_object(
        'customerId', encode(convert_to('Customer:' || u.id::text, 'UTF8'), 'base64'),
        'from', u."fromStage", 'to', u.target, 'source', 'AUTOMATIC', 'reason', u.reason)
      FROM upd u WHERE ${notQuiet(Prisma.sql`u.id`, quiet)}
      RETURNING "shopId"
    ),
    written AS (SELECT "shopId" FROM upd UNION ALL SELECT "shopId" FROM tr UNION ALL SELECT "shopId" FROM ev)`;
}
