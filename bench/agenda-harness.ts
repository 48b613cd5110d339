/**
 * Benchmark harness: an agent's agenda, `agenda(first: 50)` with the three section counts, of a
 * staff user with many follow-ups, through the GraphQL API (x-crm-staff-id) versus a bare node:http
 * server running the equivalent SQL with `pg` directly (counts and the first page joined to the
 * customers, one statement). Everything is an importable function (agenda.bench.ts and the smoke
 * test call them); nothing here asserts on timings.
 */
import type { Database } from '../packages/server/src/db/database.ts';
import { forShop } from '../packages/server/src/db/tenant.ts';
import { createStaffUser } from '../packages/server/src/modules/auth/staff.service.ts';
import { endOfDay } from '../packages/server/src/modules/follow-ups/follow-up.cadence.ts';
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

export const AGENDA_PAGE_SIZE = 50;

export const AGENDA_QUERY = `{ agenda(first: ${AGENDA_PAGE_SIZE}) { totalCount overdueCount dueTodayCount upcomingCount
  edges { cursor section node { id dueAt goal channel customer { id displayName } } }
  pageInfo { hasNextPage endCursor } } }`;

const b64 = (s: string) => Buffer.from(s).toString('base64');

export const agendaRequest = (secretKey: string, staffId: string): RequestSpec => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${secretKey}`, 'x-crm-staff-id': staffId },
  body: JSON.stringify({ query: AGENDA_QUERY }),
});

// ---------------------------------------------------------------------------------------------
// Seeding

export type AgendaSeeded = Seeded & {
  agentId: string;
  /** Follow-ups of the measured agent (PLANNED + DONE) and of another agent. */
  followUps: number;
  planned: number;
  otherAgentFollowUps: number;
  agendaMs: number;
};

// Follow-up g of an agent: due (g * 7) % 1200 - 240 hours from the seeding hour, at :30 (never
// within two hours of the seeding time, so no follow-up changes section while the bench runs);
// every 10th is DONE (not on the agenda); customers round-robin.
const SEED_FOLLOW_UPS = `
WITH cs AS (SELECT array_agg(id ORDER BY id) AS ids FROM "Customer" WHERE "shopId" = $1),
     k AS (SELECT g, ((g * 7) % 1200) - 240 AS h FROM generate_series(1, $3::int) g)
INSERT INTO "FollowUp" ("shopId", "customerId", "assigneeId", "dueAt", "channel", "goal", "status")
SELECT $1::uuid, cs.ids[1 + k.g % array_length(cs.ids, 1)], $2::uuid,
  date_trunc('hour', $4::timestamptz) + make_interval(hours => CASE WHEN k.h BETWEEN -2 AND 1 THEN k.h + 4 ELSE k.h END) + interval '30 minutes',
  (ARRAY['PHONE','EMAIL','IM','SMS'])[1 + k.g % 4]::"ContactChannel",
  'Goal ' || k.g,
  (CASE WHEN k.g % 10 = 0 THEN 'DONE' ELSE 'PLANNED' END)::"FollowUpStatus"
FROM k, cs`;

export async function seedAgenda(db: Database, opts: { followUps: number; customers?: number; seed?: number }): Promise<AgendaSeeded> {
  const base = await seed(db, { customers: Math.max(2, opts.customers ?? 1000), seed: opts.seed });
  const started = performance.now();
  const scoped = forShop(db.prisma, base.shopId);
  const agent = await createStaffUser(scoped, { email: 'agenda-agent@bench.example', name: 'Agenda Agent', role: 'AGENT' });
  const other = await createStaffUser(scoped, { email: 'agenda-other@bench.example', name: 'Other Agent', role: 'AGENT' });
  const now = new Date().toISOString();
  await db.sql.query(SEED_FOLLOW_UPS, [base.shopId, agent.id, opts.followUps, now]);
  const otherAgentFollowUps = Math.floor(opts.followUps / 2);
  if (otherAgentFollowUps) await db.sql.query(SEED_FOLLOW_UPS, [base.shopId, other.id, otherAgentFollowUps, now]);
  await db.sql.exec('VACUUM ANALYZE "FollowUp"');
  const [row] = await db.sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "FollowUp" WHERE "assigneeId" = $1 AND status = 'PLANNED'`,
    [agent.id],
  );
  return {
    ...base,
    agentId: agent.id,
    followUps: opts.followUps,
    planned: row?.n ?? 0,
    otherAgentFollowUps,
    agendaMs: Math.round(performance.now() - started),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw baseline

const RAW_SQL = `
WITH mine AS (
  SELECT f.id, f."dueAt", f.goal, f.channel, f."customerId" FROM "FollowUp" f
  WHERE f."shopId" = $1 AND f."assigneeId" = $2 AND f.status = 'PLANNED'
), counts AS (
  SELECT count(*)::int AS total,
         (count(*) FILTER (WHERE "dueAt" < $3))::int AS overdue,
         (count(*) FILTER (WHERE "dueAt" >= $3 AND "dueAt" < $4))::int AS today,
         (count(*) FILTER (WHERE "dueAt" >= $4))::int AS upcoming
  FROM mine
), page AS (
  SELECT * FROM mine ORDER BY "dueAt" ASC, id ASC LIMIT $5
)
SELECT p.id, p."dueAt", p.goal, p.channel::text AS channel, p."customerId",
       c."firstName", c."lastName", c.company, c.email, c.phone,
       counts.total, counts.overdue, counts.today, counts.upcoming
FROM counts LEFT JOIN page p ON true LEFT JOIN "Customer" c ON c.id = p."customerId"
ORDER BY p."dueAt" ASC, p.id ASC`;

type RawRow = {
  id: string | null;
  dueAt: Date | null;
  goal: string | null;
  channel: string | null;
  customerId: string | null;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  email: string | null;
  phone: string | null;
  total: number;
  overdue: number;
  today: number;
  upcoming: number;
};

/** Renders rows in the GraphQL response's shape (same ids, cursors, sections and key order). */
export function rawAgendaBody(rows: RawRow[], now: Date, eod: Date): string {
  const head = rows[0];
  const items = rows.filter((r) => r.id != null);
  const page = items.slice(0, AGENDA_PAGE_SIZE);
  const edges = page.map((r) => {
    const due = r.dueAt as Date;
    return {
      cursor: b64(`GPC:S:${r.id}`),
      section: due < now ? 'OVERDUE' : due < eod ? 'DUE_TODAY' : 'UPCOMING',
      node: {
        id: b64(`FollowUp:${r.id}`),
        dueAt: due.toISOString(),
        goal: r.goal,
        channel: r.channel,
        customer: {
          id: b64(`Customer:${r.customerId}`),
          displayName: [r.firstName, r.lastName].filter(Boolean).join(' ') || r.company || r.email || r.phone || 'Unnamed customer',
        },
      },
    };
  });
  return JSON.stringify({
    data: {
      agenda: {
        totalCount: head?.total ?? 0,
        overdueCount: head?.overdue ?? 0,
        dueTodayCount: head?.today ?? 0,
        upcomingCount: head?.upcoming ?? 0,
        edges,
        pageInfo: { hasNextPage: items.length > AGENDA_PAGE_SIZE, endCursor: edges.at(-1)?.cursor ?? null },
      },
    },
  });
}

/** The baseline: node:http + one statement (no authentication, the agent fixed like the API's header). */
export function startAgendaRaw(bench: Pick<BenchDatabase, 'db' | 'url'>, shopId: string, agentId: string, poolSize = 10): Promise<Target> {
  return serveRaw(bench, poolSize, async (_body, runner) => {
    const now = new Date();
    const eod = endOfDay(now);
    const rows = await runner.query<RawRow>(RAW_SQL, [shopId, agentId, now, eod, AGENDA_PAGE_SIZE + 1]);
    return rawAgendaBody(rows, now, eod);
  });
}

// ---------------------------------------------------------------------------------------------
// Correctness check

type AgendaData = {
  data?: {
    agenda?: {
      totalCount: number;
      overdueCount: number;
      dueTodayCount: number;
      upcomingCount: number;
      edges: { node: { dueAt: string } }[];
      pageInfo: { hasNextPage: boolean };
    };
  };
  errors?: unknown[];
};

/** Calls both targets once; throws unless both answer the same full first page and counts (planned = expected). */
export function verifyAgenda(api: Target, raw: Target, request: RequestSpec, expected: number): Promise<{ api: string; raw: string }> {
  return verifyPair<AgendaData>(api, raw, request, (t, json, text) => {
    const a = json.data?.agenda;
    if (!a) throw new Error(`${t.name}: no data.agenda in ${text.slice(0, 200)}`);
    if (a.totalCount !== expected) throw new Error(`${t.name}: totalCount ${a.totalCount}, expected ${expected}`);
    if (a.overdueCount + a.dueTodayCount + a.upcomingCount !== expected) throw new Error(`${t.name}: section counts do not add up`);
    if (a.edges.length !== Math.min(AGENDA_PAGE_SIZE, expected)) throw new Error(`${t.name}: ${a.edges.length} edges`);
    for (let i = 1; i < a.edges.length; i++) {
      if (a.edges[i]!.node.dueAt < a.edges[i - 1]!.node.dueAt) throw new Error(`${t.name}: edges not ordered by dueAt at ${i}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// One scenario end to end

export type AgendaScenarioOptions = BaseScenarioOptions & { followUps: number; customers?: number };

export type AgendaResult = ApiVsRawResult & {
  scenario: 'agenda';
  seeded: Omit<AgendaSeeded, 'shopId' | 'secretKey' | 'agentId'>;
};

export async function runAgenda(opts: AgendaScenarioOptions): Promise<AgendaResult> {
  const r = await runScenario(opts, {
    seeding: `seeding ${opts.customers ?? 1000} customers and ${opts.followUps} follow-ups of one agent...`,
    seed: (db) => seedAgenda(db, { followUps: opts.followUps, customers: opts.customers, seed: opts.seed }),
    seeded: (s) =>
      `seeded in ${((s.ms + s.agendaMs) / 1000).toFixed(1)} s: ${s.planned} planned (+${s.otherAgentFollowUps} of another agent)`,
    startRaw: (bench, s, poolSize) => startAgendaRaw(bench, s.shopId, s.agentId, poolSize),
    request: (s) => agendaRequest(s.secretKey, s.agentId),
    verify: (api, raw, request, s) => verifyAgenda(api, raw, request, s.planned),
    verified: () => 'verified: API and raw baseline return the same agenda page and counts',
  });
  const { shopId: _s, secretKey: _k, agentId: _a, ...seeded } = r.seeded;
  return { scenario: 'agenda', ...r.info, seeded, load: r.load, query: AGENDA_QUERY, ...r.measured };
}

export const formatAgendaReport = (r: AgendaResult): string =>
  formatApiVsRaw(`agenda: agenda(first: ${AGENDA_PAGE_SIZE}) + section counts of an agent with ${r.seeded.planned} planned follow-ups`, r, {
    rawNote: ', raw 1',
    p99: true,
  });

export const reportAgenda = reporter(formatAgendaReport);
