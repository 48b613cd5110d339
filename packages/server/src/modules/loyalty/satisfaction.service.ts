import type { TenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
import { localDate, zonedInstant } from '../follow-ups/follow-up.timing.ts';
import { counted, countedAmount } from '../orders/order.counting.ts';
import {
  INDICATOR_COLUMN,
  INDICATORS,
  type Indicator,
  LOWER_IS_BETTER,
  type LoyaltySettings,
  SATISFACTION_INDICATORS,
  type SatisfactionIndicator,
} from './loyalty.settings.ts';

/**
 * The shop satisfaction index and the loyalty indicator diagnosis (docs/loyalty.md). Both are
 * computed from facts when asked (one statement each), never stored: the history is there at once
 * for imported past orders and interactions, and a changed target applies to every month shown.
 * Months are calendar months in the shop's time zone (cadence settings `timeZone`, default UTC);
 * the current month counts up to `now`.
 */

export const MAX_MONTHS = 36;

/** The calendar month (YYYY-MM) holding `instant` in `timeZone`. */
const monthOf = (instant: Date, timeZone: string) => localDate(instant, timeZone).slice(0, 7);
/** `key` (YYYY-MM) plus `k` months. */
const shiftMonth = (key: string, k: number) => {
  const [y, m] = key.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 1 + k, 1)).toISOString().slice(0, 7);
};
/** The instant month `key` begins in `timeZone`. */
const monthStart = (key: string, timeZone: string) => zonedInstant(`${key}-01`, 0, 0, timeZone);

/**
 * [start, end) of the `months` calendar months (in `timeZone`) up to the one holding `now`, oldest
 * first; the last ends at `now`.
 */
export function monthWindows(now: Date, months: number, timeZone = 'UTC'): { start: Date; end: Date }[] {
  if (!Number.isInteger(months) || months < 1 || months > MAX_MONTHS) throw ValidationError.field(['months'], `From 1 to ${MAX_MONTHS}`);
  const current = monthOf(now, timeZone);
  return Array.from({ length: months }, (_, i) => {
    const k = i - (months - 1);
    const start = monthStart(shiftMonth(current, k), timeZone);
    const end = k === 0 ? now : monthStart(shiftMonth(current, k + 1), timeZone);
    return { start, end };
  });
}

// ---------------------------------------------------------------------------------------------
// The satisfaction index

/** The facts of one month: counts behind every indicator (see docs/loyalty.md for each definition). */
export type MonthFacts = {
  answers: number;
  verySatisfied: number;
  opinions: number;
  positive: number;
  buyers: number;
  repeatBuyers: number;
  orders: number;
  complaints: number;
  revenue: number;
  discounted: number;
  trailingOrders: number;
  trailingRevenue: number;
  activeAtStart: number;
  left: number;
};

export type IndicatorFigure = {
  indicator: SatisfactionIndicator;
  value: number | null;
  target: number | null;
  lowerIsBetter: boolean;
  /** 0-100: how far the value reaches its target; null without data (left out of the index). */
  score: number | null;
  weight: number;
  /** Points of the index this indicator gives: weight × score / Σ weights of the scored indicators. */
  contribution: number;
  /** What the value is a share of (answers, orders, buyers, customers), for reading small numbers right. */
  basis: number;
};

export type IndexMonth = { start: Date; end: Date; index: number | null; indicators: IndicatorFigure[]; facts: MonthFacts };

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);
const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;

/** Values of a month's indicators from its facts (null: nothing to measure that month). */
export function indicatorValues(f: MonthFacts): Record<SatisfactionIndicator, { value: number | null; basis: number }> {
  return {
    satisfaction: { value: ratio(f.verySatisfied, f.answers), basis: f.answers },
    reputation: { value: ratio(f.positive, f.opinions), basis: f.opinions },
    repurchase: { value: ratio(f.repeatBuyers, f.buyers), basis: f.buyers },
    complaints: { value: ratio(f.complaints, f.orders), basis: f.orders },
    ticketSize: { value: f.orders > 0 ? round(f.revenue / f.orders, 2) : null, basis: f.orders },
    priceSensitivity: { value: ratio(f.discounted, f.orders), basis: f.orders },
    leaving: { value: ratio(f.left, f.activeAtStart), basis: f.activeAtStart },
  };
}

/**
 * Scores a month: higher-is-better indicators score min(100, 100 × value / target), lower-is-better
 * ones 100 at or below the target, else 100 × target / value; index = Σ weight × score / Σ weight
 * over the indicators with data (one decimal).
 */
export function scoreMonth(f: MonthFacts, s: LoyaltySettings['satisfaction']): { index: number | null; indicators: IndicatorFigure[] } {
  const values = indicatorValues(f);
  const trailingAov = f.trailingOrders > 0 ? round(f.trailingRevenue / f.trailingOrders, 2) : null;
  const rows = SATISFACTION_INDICATORS.map((k) => {
    const { value, basis } = values[k];
    const target = k === 'ticketSize' ? (s.targets.ticketSize ?? trailingAov) : s.targets[k];
    const lower = LOWER_IS_BETTER.has(k);
    let score: number | null = null;
    if (value != null && target != null) {
      if (lower) score = value <= target ? 100 : Math.round((100 * target) / value);
      else score = Math.min(100, Math.round((100 * value) / target));
    }
    return {
      indicator: k,
      value: value == null ? null : round(value, 4),
      target,
      lowerIsBetter: lower,
      score,
      weight: s.weights[k],
      basis,
    };
  });
  const scored = rows.filter((r) => r.score != null && r.weight > 0);
  const wsum = scored.reduce((a, r) => a + r.weight, 0);
  const indicators = rows.map((r) => ({
    ...r,
    contribution: r.score != null && wsum > 0 && r.weight > 0 ? round((r.weight * r.score) / wsum, 1) : 0,
  }));
  const index = wsum > 0 ? round(scored.reduce((a, r) => a + r.weight * (r.score as number), 0) / wsum, 1) : null;
  return { index, indicators };
}

const sqlMonth = (col: Prisma.Sql, timeZone: string) =>
  Prisma.sql`to_char(date_trunc('month', ${col} AT TIME ZONE ${timeZone}::text), 'YYYY-MM')`;

type OrderMonth = { mk: string; orders: number; revenue: number; discounted: number; buyers: number; repeat: number };
type InteractionMonth = { mk: string; answers: number; very: number; opinions: number; positive: number; complaints: number };
type LeavingMonth = { i: number; active: number; left: number };

/**
 * The facts of every month: three grouped scans (orders by month, interactions by month, orders
 * with each customer's next order for the leaving rate), each row bucketed by its month (no range
 * joins); the trailing 12 months of the ticket-size target are summed from the monthly buckets.
 */
export async function monthFacts(
  sql: TenantSql,
  windows: { start: Date; end: Date }[],
  leavingAfterDays: number,
  timeZone = 'UTC',
): Promise<MonthFacts[]> {
  const first = windows[0] as { start: Date };
  const now = (windows.at(-1) as { end: Date }).end;
  const trailingFrom = monthStart(shiftMonth(monthOf(first.start, timeZone), -12), timeZone);
  const starts = windows.map((w) => w.start);
  const ends = windows.map((w) => w.end);
  const d = Prisma.sql`make_interval(days => ${leavingAfterDays}::int)`;
  const t0 = Prisma.sql`${first.start}::timestamptz`;
  const tn = Prisma.sql`${now}::timestamptz`;
  const [orders, interactions, leaving] = await Promise.all([
    sql<OrderMonth>(
      (shop) => Prisma.sql`
      WITH ord AS (
        SELECT ${sqlMonth(Prisma.sql`o."placedAt"`, timeZone)} AS mk, o."placedAt" AS at, o."customerId", ${countedAmount()} AS amount, o.discount > 0 AS discounted
        FROM "Order" o
        WHERE o."shopId" = ${shop} AND ${counted()} AND o."placedAt" >= ${trailingFrom}::timestamptz AND o."placedAt" < ${tn}),
      b AS (
        SELECT mk, "customerId", count(*)::int AS n, min(at) AS first_in_month FROM ord WHERE at >= ${t0} GROUP BY mk, "customerId"),
      earlier AS (
        SELECT o."customerId", min(o."placedAt") AS first_at FROM "Order" o
        WHERE o."shopId" = ${shop} AND ${counted()} AND o."customerId" IN (SELECT "customerId" FROM b)
        GROUP BY o."customerId"),
      rep AS (
        SELECT b.mk, (count(*) FILTER (WHERE b.n >= 2 OR e.first_at < b.first_in_month))::int AS repeat
        FROM b JOIN earlier e ON e."customerId" = b."customerId" GROUP BY b.mk),
      mo AS (
        SELECT mk, count(*)::int AS orders, COALESCE(sum(amount), 0)::float8 AS revenue,
          (count(*) FILTER (WHERE discounted))::int AS discounted, count(DISTINCT "customerId")::int AS buyers
        FROM ord GROUP BY mk)
      SELECT ${shop} AS "shopId", mo.mk, mo.orders, mo.revenue, mo.discounted, mo.buyers, COALESCE(rep.repeat, 0) AS repeat
      FROM mo LEFT JOIN rep ON rep.mk = mo.mk`,
    ),
    sql<InteractionMonth>(
      (shop) => Prisma.sql`
      SELECT ${shop} AS "shopId", ${sqlMonth(Prisma.sql`x."occurredAt"`, timeZone)} AS mk,
        (count(*) FILTER (WHERE x."surveyKind" IS NOT NULL))::int AS answers,
        (count(*) FILTER (WHERE (x."surveyKind" = 'CSAT' AND x.score >= 5) OR (x."surveyKind" = 'NPS' AND x.score >= 9)))::int AS very,
        (count(*) FILTER (WHERE x.type IN ('REVIEW', 'WORD_OF_MOUTH') AND x.sentiment IS NOT NULL))::int AS opinions,
        (count(*) FILTER (WHERE x.type IN ('REVIEW', 'WORD_OF_MOUTH') AND x.sentiment = 'POSITIVE'))::int AS positive,
        (count(*) FILTER (WHERE x.type IN ('COMPLAINT', 'DISPUTE')))::int AS complaints
      FROM "Interaction" x
      WHERE x."shopId" = ${shop} AND x."deletedAt" IS NULL AND x."occurredAt" >= ${t0} AND x."occurredAt" < ${tn}
        AND (x."surveyKind" IS NOT NULL OR x.type IN ('REVIEW', 'WORD_OF_MOUTH', 'COMPLAINT', 'DISPUTE'))
      GROUP BY 2`,
    ),
    // A customer is active at a month's start s when their last order before s is at most
    // leavingAfterDays old; they leave in [s, e) when no order follows in [s, e) and that order's
    // leavingAfterDays run out before e. Each order with the customer's next one, against the months.
    sql<LeavingMonth>(
      (shop) => Prisma.sql`
      WITH m AS (SELECT w.s, w.e, w.i::int AS i FROM unnest(${starts}::timestamptz[], ${ends}::timestamptz[]) WITH ORDINALITY AS w(s, e, i)),
      seq AS (
        SELECT o."placedAt" AS at, lead(o."placedAt") OVER (PARTITION BY o."customerId" ORDER BY o."placedAt", o.id) AS next_at
        FROM "Order" o
        WHERE o."shopId" = ${shop} AND ${counted()} AND o."placedAt" >= ${t0} - ${d} AND o."placedAt" < ${tn})
      SELECT ${shop} AS "shopId", m.i, count(*)::int AS active,
        (count(*) FILTER (WHERE (q.next_at IS NULL OR q.next_at >= m.e) AND q.at < m.e - ${d}))::int AS left
      FROM seq q JOIN m ON q.at < m.s AND q.at >= m.s - ${d} AND (q.next_at IS NULL OR q.next_at >= m.s)
      GROUP BY m.i`,
    ),
  ]);
  const om = new Map(orders.map((r) => [r.mk, r]));
  const im = new Map(interactions.map((r) => [r.mk, r]));
  const lm = new Map(leaving.map((r) => [r.i, r]));
  return windows.map((w, i) => {
    const key = monthOf(w.start, timeZone);
    const o = om.get(key);
    const x = im.get(key);
    const l = lm.get(i + 1);
    let trailingOrders = 0;
    let trailingRevenue = 0;
    for (let k = 1; k <= 12; k++) {
      const t = om.get(shiftMonth(key, -k));
      trailingOrders += t?.orders ?? 0;
      trailingRevenue += Number(t?.revenue ?? 0);
    }
    return {
      answers: x?.answers ?? 0,
      verySatisfied: x?.very ?? 0,
      opinions: x?.opinions ?? 0,
      positive: x?.positive ?? 0,
      buyers: o?.buyers ?? 0,
      repeatBuyers: o?.repeat ?? 0,
      orders: o?.orders ?? 0,
      complaints: x?.complaints ?? 0,
      revenue: Number(o?.revenue ?? 0),
      discounted: o?.discounted ?? 0,
      trailingOrders,
      trailingRevenue,
      activeAtStart: l?.active ?? 0,
      left: l?.left ?? 0,
    };
  });
}

/** The index of each month, oldest first (the last is the current month to date). */
export async function satisfactionIndex(
  sql: TenantSql,
  s: LoyaltySettings,
  months: number,
  now = new Date(),
  timeZone = 'UTC',
): Promise<IndexMonth[]> {
  const windows = monthWindows(now, months, timeZone);
  const facts = await monthFacts(sql, windows, s.satisfaction.leavingAfterDays, timeZone);
  return windows.map((w, i) => {
    const f = facts[i] as MonthFacts;
    return { ...w, ...scoreMonth(f, s.satisfaction), facts: f };
  });
}

// ---------------------------------------------------------------------------------------------
// Loyalty indicator diagnosis

export type IndicatorMonth = { start: Date; end: Date; facts: number; customers: number };
export type IndicatorDiagnosis = {
  indicator: Indicator;
  target: number;
  weight: number;
  /** Customers measured: active customers with a metrics row. */
  customers: number;
  averageValue: number;
  averageScore: number;
  /** Share of the measured customers with at least one fact (value > 0). */
  reach: number;
  /** Customers per indicator score band 0-19, 20-39, 40-59, 60-79, 80-100. */
  distribution: number[];
  months: IndicatorMonth[];
  /** Facts in the last complete month minus facts in the month before. */
  change: number;
  trend: 'UP' | 'DOWN' | 'FLAT';
};

type DiagRow = {
  indicator: Indicator;
  customers: number;
  avgValue: number | null;
  avgScore: number | null;
  reached: number;
  b0: number;
  b1: number;
  b2: number;
  b3: number;
  b4: number;
};

/** Shop-level averages, score distribution and monthly facts of the seven loyalty indicators. */
export async function indicatorDiagnosis(
  sql: TenantSql,
  s: LoyaltySettings,
  months: number,
  now = new Date(),
  timeZone = 'UTC',
): Promise<IndicatorDiagnosis[]> {
  if (months < 3) throw ValidationError.field(['months'], 'At least 3 (the trend compares the two complete months before this one)');
  const windows = monthWindows(now, months, timeZone);
  const starts = windows.map((w) => w.start);
  const scoreOf = (k: Indicator) =>
    Prisma.sql`LEAST(100, round(100.0 * m.${Prisma.raw(`"${INDICATOR_COLUMN[k]}"`)} / ${s.targets[k]}::int))`;
  const current = await sql<DiagRow>(
    (shop) => Prisma.sql`
    WITH v AS (
      SELECT u.indicator, u.value, u.score FROM "CustomerMetrics" m JOIN "Customer" c ON c.id = m."customerId" AND c."shopId" = m."shopId"
      CROSS JOIN LATERAL (VALUES ${Prisma.join(
        INDICATORS.map((k) => Prisma.sql`(${k}, m.${Prisma.raw(`"${INDICATOR_COLUMN[k]}"`)}, ${scoreOf(k)})`),
        ', ',
      )}) AS u(indicator, value, score)
      WHERE m."shopId" = ${shop} AND c.status = 'ACTIVE')
    SELECT ${shop} AS "shopId", indicator, count(*)::int AS customers, avg(value)::float8 AS "avgValue", avg(score)::float8 AS "avgScore",
      (count(*) FILTER (WHERE value > 0))::int AS reached,
      (count(*) FILTER (WHERE score < 20))::int AS b0, (count(*) FILTER (WHERE score >= 20 AND score < 40))::int AS b1,
      (count(*) FILTER (WHERE score >= 40 AND score < 60))::int AS b2, (count(*) FILTER (WHERE score >= 60 AND score < 80))::int AS b3,
      (count(*) FILTER (WHERE score >= 80))::int AS b4
    FROM v GROUP BY indicator`,
  );
  const monthly = await sql<{ indicator: Indicator; mk: string; facts: number; customers: number }>(
    (shop) => Prisma.sql`
    WITH f AS (
      SELECT CASE
          WHEN x.type = 'QA_PARTICIPATION' THEN 'qaParticipation'
          WHEN x.type IN ('WORD_OF_MOUTH', 'REVIEW') AND x.sentiment = 'POSITIVE' THEN 'positiveWordOfMouth'
          WHEN x.type = 'EVENT_ATTENDANCE' THEN 'eventParticipation'
          WHEN x.type = 'SUGGESTION' THEN 'suggestions'
          WHEN x.type = 'SURVEY_RESPONSE' AND COALESCE(x.metadata->>'completed', 'true') <> 'false' THEN 'surveysCompleted'
        END AS indicator, x."customerId", x."occurredAt" AS at
      FROM "Interaction" x
      WHERE x."shopId" = ${shop} AND x."deletedAt" IS NULL AND x."occurredAt" >= ${starts[0]}::timestamptz AND x."occurredAt" < ${now}::timestamptz
        AND x.type IN ('QA_PARTICIPATION', 'WORD_OF_MOUTH', 'REVIEW', 'EVENT_ATTENDANCE', 'SUGGESTION', 'SURVEY_RESPONSE')
      UNION ALL
      SELECT 'addOnPurchases', o."customerId", o."placedAt"
      FROM "Order" o
      WHERE o."shopId" = ${shop} AND ${counted()} AND o."placedAt" >= ${starts[0]}::timestamptz AND o."placedAt" < ${now}::timestamptz
        AND EXISTS (SELECT 1 FROM "OrderItem" it WHERE it."orderId" = o.id AND it."addOn")
      UNION ALL
      SELECT 'referralsBought', r."sourceReferrerId", fo.at
      FROM "Customer" r
      CROSS JOIN LATERAL (SELECT min(o."placedAt") AS at FROM "Order" o WHERE o."customerId" = r.id AND ${counted()}) fo
      WHERE r."shopId" = ${shop} AND r."sourceReferrerId" IS NOT NULL AND r.status <> 'MERGED'
        AND fo.at >= ${starts[0]}::timestamptz AND fo.at < ${now}::timestamptz)
    SELECT ${shop} AS "shopId", f.indicator, ${sqlMonth(Prisma.sql`f.at`, timeZone)} AS mk, count(*)::int AS facts, count(DISTINCT f."customerId")::int AS customers
    FROM f
    WHERE f.indicator IS NOT NULL
    GROUP BY 2, 3`,
  );
  const byKey = new Map(monthly.map((r) => [`${r.indicator}:${r.mk}`, r]));
  return INDICATORS.map((k) => {
    const r = current.find((x) => x.indicator === k);
    const ms = windows.map((w) => {
      const x = byKey.get(`${k}:${monthOf(w.start, timeZone)}`);
      return { ...w, facts: x?.facts ?? 0, customers: x?.customers ?? 0 };
    });
    // The last entry is the month to date: the trend compares the two complete months before it.
    const last = ms.at(-2)?.facts ?? 0;
    const before = ms.at(-3)?.facts ?? 0;
    const customers = r?.customers ?? 0;
    return {
      indicator: k,
      target: s.targets[k],
      weight: s.weights[k],
      customers,
      averageValue: round(Number(r?.avgValue ?? 0), 2),
      averageScore: round(Number(r?.avgScore ?? 0), 1),
      reach: customers ? round((r?.reached ?? 0) / customers, 4) : 0,
      distribution: r ? [r.b0, r.b1, r.b2, r.b3, r.b4] : [0, 0, 0, 0, 0],
      months: ms,
      change: last - before,
      trend: last > before ? 'UP' : last < before ? 'DOWN' : 'FLAT',
    };
  });
}

/** The playbook: what to do about each indicator when it is weak (docs/loyalty.md). */
export const PLAYBOOK: Record<Indicator, { action: string; title: string; description: string; audienceRule: string }> = {
  addOnPurchases: {
    action: 'OFFER_ADD_ONS',
    title: 'Offer add-ons to buyers of the main products',
    description:
      'Suggest the optional products and services that go with what was bought (care kits, installation, extended warranty) in after-sales follow-ups and at checkout.',
    audienceRule: 'orders.count >= 1 AND addOns.count = 0',
  },
  qaParticipation: {
    action: 'INVITE_TO_QA',
    title: 'Invite buyers into the Q&A',
    description: 'Ask recent buyers to answer other customers’ questions about the products they own; thank and feature the helpful ones.',
    audienceRule: 'orders.count >= 1 AND interactions.count(type = QA_PARTICIPATION) = 0',
  },
  positiveWordOfMouth: {
    action: 'ASK_FOR_REVIEWS',
    title: 'Ask very satisfied customers for a review',
    description: 'Customers whose latest CSAT is 5 or NPS 9-10 are the ones to ask for a review or a post; make sharing one click away.',
    audienceRule: 'satisfaction.verySatisfied = true AND interactions.count(type = REVIEW) = 0',
  },
  eventParticipation: {
    action: 'INVITE_TO_EVENTS',
    title: 'Invite loyal customers to events, and give them a role',
    description: 'Invite to online and offline events; ask regulars to host, demonstrate or speak (leading counts more than attending).',
    audienceRule: 'orders.count >= 2 AND interactions.count(type = EVENT_ATTENDANCE) = 0',
  },
  referralsBought: {
    action: 'PROMOTE_REFERRALS',
    title: 'Give advocates a reason to refer',
    description:
      'Offer referral rewards (points for the referrer when the friend buys) to satisfied repeat customers and remind them of it.',
    audienceRule: 'orders.count >= 2 AND satisfaction.verySatisfied = true',
  },
  suggestions: {
    action: 'ASK_FOR_SUGGESTIONS',
    title: 'Ask for suggestions and close the loop',
    description:
      'Ask customers what to improve after a purchase or a support case, and tell them what changed because of their suggestion.',
    audienceRule: 'orders.count >= 1 AND interactions.count(type = SUGGESTION) = 0',
  },
  surveysCompleted: {
    action: 'SURVEY_FOLLOW_UPS',
    title: 'Follow up on surveys with customers who have not answered',
    description:
      'Plan survey follow-ups (a short CSAT or NPS question) for buyers without an answer in the last 180 days, respecting consent and contact tolerance.',
    audienceRule: 'orders.count >= 1 AND interactions.count(type = SURVEY_RESPONSE, within = 180d) = 0',
  },
};

/** The weakest indicators: lowest average score first (ties: the heavier weight first). */
export function weakest(d: IndicatorDiagnosis[], limit: number): IndicatorDiagnosis[] {
  if (!Number.isInteger(limit) || limit < 1 || limit > INDICATORS.length)
    throw ValidationError.field(['limit'], `From 1 to ${INDICATORS.length}`);
  return [...d]
    .filter((x) => x.weight > 0)
    .sort(
      (a, b) => a.averageScore - b.averageScore || b.weight - a.weight || INDICATORS.indexOf(a.indicator) - INDICATORS.indexOf(b.indicator),
    )
    .slice(0, limit);
}
