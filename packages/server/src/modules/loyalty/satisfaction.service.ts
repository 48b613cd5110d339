import type { TenantSql } from '../../db/tenant-sql.ts';
import { ValidationError } from '../../errors.ts';
import { Prisma } from '../../generated/prisma/client.ts';
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
 * Months are calendar months in UTC; the current month counts up to `now`.
 */

export const MAX_MONTHS = 36;

/** [start, end) of the `months` calendar months (UTC) up to the one holding `now`, oldest first; the last ends at `now`. */
export function monthWindows(now: Date, months: number): { start: Date; end: Date }[] {
  if (!Number.isInteger(months) || months < 1 || months > MAX_MONTHS) throw ValidationError.field(['months'], `From 1 to ${MAX_MONTHS}`);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  return Array.from({ length: months }, (_, i) => {
    const k = i - (months - 1);
    const start = new Date(Date.UTC(y, m + k, 1));
    const end = k === 0 ? now : new Date(Date.UTC(y, m + k + 1, 1));
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

/** The facts of every month in one statement. */
export async function monthFacts(sql: TenantSql, windows: { start: Date; end: Date }[], leavingAfterDays: number): Promise<MonthFacts[]> {
  const starts = windows.map((w) => w.start);
  const ends = windows.map((w) => w.end);
  const trailing = windows.map((w) => new Date(Date.UTC(w.start.getUTCFullYear() - 1, w.start.getUTCMonth(), 1)));
  const d = Prisma.sql`make_interval(days => ${leavingAfterDays}::int)`;
  const rows = await sql<MonthFacts & { i: number }>(
    (shop) => Prisma.sql`
    WITH m AS (
      SELECT w.s, w.e, w.p, w.i::int AS i
      FROM unnest(${starts}::timestamptz[], ${ends}::timestamptz[], ${trailing}::timestamptz[]) WITH ORDINALITY AS w(s, e, p, i)),
    ord AS (
      SELECT m.i, m.e, o."customerId", ${countedAmount()} AS amount, o.discount > 0 AS discounted
      FROM m JOIN "Order" o ON o."placedAt" >= m.s AND o."placedAt" < m.e
      WHERE o."shopId" = ${shop} AND ${counted()}),
    mo AS (
      SELECT i, count(*)::int AS orders, COALESCE(sum(amount), 0)::float8 AS revenue,
        (count(*) FILTER (WHERE discounted))::int AS discounted, count(DISTINCT "customerId")::int AS buyers
      FROM ord GROUP BY i),
    rep AS (
      SELECT b.i, (count(*) FILTER (WHERE (
        SELECT count(*) FROM "Order" o WHERE o."shopId" = ${shop} AND o."customerId" = b."customerId" AND ${counted()} AND o."placedAt" < b.e) >= 2))::int AS n
      FROM (SELECT DISTINCT i, e, "customerId" FROM ord) b GROUP BY b.i),
    tr AS (
      SELECT m.i, count(*)::int AS orders, COALESCE(sum(${countedAmount()}), 0)::float8 AS revenue
      FROM m JOIN "Order" o ON o."placedAt" >= m.p AND o."placedAt" < m.s
      WHERE o."shopId" = ${shop} AND ${counted()} GROUP BY m.i),
    ix AS (
      SELECT m.i,
        (count(*) FILTER (WHERE x."surveyKind" IS NOT NULL))::int AS answers,
        (count(*) FILTER (WHERE (x."surveyKind" = 'CSAT' AND x.score >= 5) OR (x."surveyKind" = 'NPS' AND x.score >= 9)))::int AS very,
        (count(*) FILTER (WHERE x.type IN ('REVIEW', 'WORD_OF_MOUTH') AND x.sentiment IS NOT NULL))::int AS opinions,
        (count(*) FILTER (WHERE x.type IN ('REVIEW', 'WORD_OF_MOUTH') AND x.sentiment = 'POSITIVE'))::int AS positive,
        (count(*) FILTER (WHERE x.type IN ('COMPLAINT', 'DISPUTE')))::int AS complaints
      FROM m JOIN "Interaction" x ON x."occurredAt" >= m.s AND x."occurredAt" < m.e
      WHERE x."shopId" = ${shop} AND x."deletedAt" IS NULL
        AND (x."surveyKind" IS NOT NULL OR x.type IN ('REVIEW', 'WORD_OF_MOUTH', 'COMPLAINT', 'DISPUTE'))
      GROUP BY m.i),
    lv AS (
      SELECT c.i, count(*)::int AS active, (count(*) FILTER (WHERE NOT c.bought AND c.last < c.e - ${d}))::int AS left
      FROM (
        SELECT m.i, m.e, o."customerId", max(o."placedAt") FILTER (WHERE o."placedAt" < m.s) AS last,
          bool_or(o."placedAt" >= m.s) AS bought
        FROM m JOIN "Order" o ON o."placedAt" >= m.s - ${d} AND o."placedAt" < m.e
        WHERE o."shopId" = ${shop} AND ${counted()}
        GROUP BY m.i, m.e, o."customerId") c
      WHERE c.last IS NOT NULL
      GROUP BY c.i)
    SELECT ${shop} AS "shopId", m.i,
      COALESCE(ix.answers, 0) AS answers, COALESCE(ix.very, 0) AS "verySatisfied",
      COALESCE(ix.opinions, 0) AS opinions, COALESCE(ix.positive, 0) AS positive,
      COALESCE(mo.buyers, 0) AS buyers, COALESCE(rep.n, 0) AS "repeatBuyers",
      COALESCE(mo.orders, 0) AS orders, COALESCE(ix.complaints, 0) AS complaints,
      COALESCE(mo.revenue, 0) AS revenue, COALESCE(mo.discounted, 0) AS discounted,
      COALESCE(tr.orders, 0) AS "trailingOrders", COALESCE(tr.revenue, 0) AS "trailingRevenue",
      COALESCE(lv.active, 0) AS "activeAtStart", COALESCE(lv.left, 0) AS left
    FROM m
    LEFT JOIN mo ON mo.i = m.i LEFT JOIN rep ON rep.i = m.i LEFT JOIN tr ON tr.i = m.i
    LEFT JOIN ix ON ix.i = m.i LEFT JOIN lv ON lv.i = m.i
    ORDER BY m.i`,
  );
  return rows.map(({ i: _i, shopId: _s, ...f }: MonthFacts & { i: number; shopId?: string }) => ({
    ...f,
    revenue: Number(f.revenue),
    trailingRevenue: Number(f.trailingRevenue),
  }));
}

/** The index of each month, oldest first (the last is the current month to date). */
export async function satisfactionIndex(sql: TenantSql, s: LoyaltySettings, months: number, now = new Date()): Promise<IndexMonth[]> {
  const windows = monthWindows(now, months);
  const facts = await monthFacts(sql, windows, s.satisfaction.leavingAfterDays);
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
): Promise<IndicatorDiagnosis[]> {
  if (months < 3) throw ValidationError.field(['months'], 'At least 3 (the trend compares the two complete months before this one)');
  const windows = monthWindows(now, months);
  const starts = windows.map((w) => w.start);
  const ends = windows.map((w) => w.end);
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
  const monthly = await sql<{ indicator: Indicator; i: number; facts: number; customers: number }>(
    (shop) => Prisma.sql`
    WITH m AS (SELECT w.s, w.e, w.i::int AS i FROM unnest(${starts}::timestamptz[], ${ends}::timestamptz[]) WITH ORDINALITY AS w(s, e, i)),
    f AS (
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
    SELECT ${shop} AS "shopId", f.indicator, m.i, count(*)::int AS facts, count(DISTINCT f."customerId")::int AS customers
    FROM f JOIN m ON f.at >= m.s AND f.at < m.e
    WHERE f.indicator IS NOT NULL
    GROUP BY f.indicator, m.i`,
  );
  const byKey = new Map(monthly.map((r) => [`${r.indicator}:${r.i}`, r]));
  return INDICATORS.map((k) => {
    const r = current.find((x) => x.indicator === k);
    const ms = windows.map((w, i) => {
      const x = byKey.get(`${k}:${i + 1}`);
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
