/**
 * Benchmark harness: "list customers" through the GraphQL API versus a bare node:http server that
 * runs the equivalent SQL directly. Everything is an importable function (the CLI in
 * customers.bench.ts and the smoke test both call them); nothing here asserts on timings.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { buildApp } from '../packages/server/src/app.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { type Database, openDatabase } from '../packages/server/src/db/database.ts';
import type { SqlRunner } from '../packages/server/src/db/migrate.ts';
import { forShop } from '../packages/server/src/db/tenant.ts';
import { fakeCustomer } from '../packages/server/src/demo-data.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { createStaffUser } from '../packages/server/src/modules/auth/staff.service.ts';
import { createShop } from '../packages/server/src/modules/shops/shop.service.ts';

export const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
export const PAGE_SIZE = 50;

export const CUSTOMERS_QUERY = `{ customers(first: ${PAGE_SIZE}) { totalCount edges { node { id displayName email stage owner { name } tags { name } source { channel campaign } } } pageInfo { hasNextPage endCursor } } }`;

// ---------------------------------------------------------------------------------------------
// Database

export type BenchDatabase = {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** URL of the bench database (PostgreSQL only); the raw baseline opens its own pool on it. */
  url?: string;
  /** Why PGlite was used, when it was a fallback. */
  note?: string;
  /** Starts recording the SQL Prisma sends; returns a function that stops and returns it. */
  recordSql(): () => string[];
  /** Closes the database (and drops it on PostgreSQL). */
  close(): Promise<void>;
};

export type OpenOptions = {
  /** 'auto': PostgreSQL when reachable at adminUrl, else PGlite. */
  backend?: 'auto' | 'postgres' | 'pglite';
  adminUrl?: string;
  poolSize?: number;
};

/** Whether PostgreSQL answers at this admin URL. */
export const postgresReachable = async (url: string) => (await reachable(url)) === null;

async function reachable(url: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (e) {
    return (e as Error).message || String(e);
  } finally {
    await c.end().catch(() => {});
  }
}

async function adminQuery(adminUrl: string, sql: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const openBench = new Set<BenchDatabase>();

/** Closes (and drops) every bench database still open, e.g. from a signal handler. */
export async function closeAllBenchDatabases(): Promise<void> {
  await Promise.allSettled([...openBench].map((b) => b.close()));
}

/** BENCH_PG_SETTINGS as [name, value] pairs; names and values are checked, not quoted blindly. */
export function pgSettings(raw = process.env.BENCH_PG_SETTINGS ?? ''): [string, string][] {
  return raw
    .split(',')
    .map((kv) => kv.trim())
    .filter(Boolean)
    .map((kv) => {
      const m = /^([a-z_][a-z0-9_.]*)\s*=\s*([A-Za-z0-9_.]+)$/.exec(kv);
      if (!m) throw new Error(`BENCH_PG_SETTINGS: not name=value: ${kv}`);
      return [m[1] as string, m[2] as string];
    });
}

/** A fresh database with migrations applied: `crm_bench_<random>` on PostgreSQL (dropped on close), or in-memory PGlite. */
export async function openBenchDatabase(opts: OpenOptions = {}): Promise<BenchDatabase> {
  const bench = await open(opts);
  const close = bench.close;
  bench.close = async () => {
    openBench.delete(bench);
    await close();
  };
  openBench.add(bench);
  return bench;
}

async function open(opts: OpenOptions): Promise<BenchDatabase> {
  const adminUrl = opts.adminUrl ?? DEFAULT_ADMIN_URL;
  const backend = opts.backend ?? 'auto';
  let recording: string[] | null = null;
  const onQuery = (sql: string) => {
    recording?.push(sql);
  };
  const recordSql = () => {
    const list: string[] = [];
    recording = list;
    return () => {
      recording = null;
      return list;
    };
  };

  let note: string | undefined;
  if (backend !== 'pglite') {
    const problem = await reachable(adminUrl);
    if (problem && backend === 'postgres') throw new Error(`PostgreSQL not reachable at ${adminUrl}: ${problem}`);
    if (problem) note = `PostgreSQL not reachable at ${adminUrl} (${problem}): using embedded PGlite in memory`;
    else {
      const name = `crm_bench_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
      await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
      // BENCH_PG_SETTINGS="work_mem=16MB,max_parallel_workers_per_gather=0": PostgreSQL settings for
      // the bench database (ALTER DATABASE ... SET), e.g. those docs/performance.md recommends.
      for (const [key, value] of pgSettings()) await adminQuery(adminUrl, `ALTER DATABASE "${name}" SET ${key} = '${value}'`);
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      const url = u.toString();
      let db: Database;
      try {
        db = await openDatabase({ url, poolSize: opts.poolSize ?? 10, onQuery });
      } catch (e) {
        await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
        throw e;
      }
      let closed = false;
      return {
        db,
        kind: 'postgres',
        url,
        recordSql,
        close: async () => {
          if (closed) return;
          closed = true;
          await db.close().catch(() => {});
          // BENCH_KEEP_DATABASE=1: left for EXPLAIN and profiling after the run (drop it by hand).
          if (process.env.BENCH_KEEP_DATABASE === '1') console.error(`[bench] kept database ${name}`);
          else await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        },
      };
    }
  }
  const db = await openDatabase({ dataDir: 'memory://', onQuery });
  let closed = false;
  return {
    db,
    kind: 'pglite',
    note,
    recordSql,
    close: async () => {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Seeding

export type SeedOptions = {
  customers: number;
  /** Seed of the fake-customer generator. */
  seed?: number;
  /** Rows per INSERT statement. */
  batchSize?: number;
  /** Staff users in total (the shop owner plus agents); customers get them round-robin. */
  staff?: number;
};

export type Seeded = {
  shopId: string;
  secretKey: string;
  customers: number;
  staff: number;
  tags: number;
  customerTags: number;
  ms: number;
};

const pgArray = (items: string[]) => `{${items.map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;

const INSERT_CUSTOMERS = `
INSERT INTO "Customer" ("id", "shopId", "firstName", "lastName", "company", "email", "phone", "stage", "sourceChannel",
  "sourceCampaign", "country", "city", "incomeBand", "dealLikelihood", "productInterests", "otherEmails", "otherPhones",
  "hobbies", "focusFactors", "birthDate", "ownerId", "createdAt", "updatedAt")
SELECT u.id, $1::uuid, u.fn, u.ln, u.co, u.em, u.ph, u.st::"LifecycleStage", u.sc::"SourceChannel",
  u.cp, u.cc, u.ci, u.ib::"IncomeBand", u.dl, u.pi::text[], '{}', '{}',
  '{}', '{}', u.bd::date, u.ow, u.ca::timestamptz, u.ca::timestamptz
FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
  $10::text[], $11::text[], $12::text[], $13::text[], $14::int[], $15::text[], $16::text[], $17::uuid[], $18::text[])
  AS u(id, fn, ln, co, em, ph, st, sc, cp, cc, ci, ib, dl, pi, bd, ow, ca)`;

const INSERT_CUSTOMER_TAGS = `
INSERT INTO "CustomerTag" ("shopId", "customerId", "tagId", "createdAt")
SELECT $1::uuid, u.c, u.t, u.at::timestamptz FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS u(c, t, at)`;

/**
 * Creates a shop with its keys (createShop), a handful of staff users, and `customers` customers
 * from the deterministic generator, with tags and owners, using set-based INSERTs
 * (`INSERT ... SELECT FROM unnest(...)`, `batchSize` rows per statement).
 */
export async function seed(db: Database, opts: SeedOptions): Promise<Seeded> {
  const started = performance.now();
  const seedNo = opts.seed ?? 42;
  const batchSize = opts.batchSize ?? 5000;
  const staffCount = Math.max(1, opts.staff ?? 5);
  const created = await createShop(db.prisma, {
    name: `Bench ${randomBytes(3).toString('hex')}`,
    ownerEmail: 'owner@bench.example',
    ownerName: 'Olivia Owner',
  });
  const shopId = created.shop.id;
  const scoped = forShop(db.prisma, shopId);
  const staffIds = [created.ownerId as string];
  for (let i = 1; i < staffCount; i++) {
    const s = await createStaffUser(scoped, { email: `agent${i}@bench.example`, name: `Agent ${i}`, role: 'AGENT' });
    staffIds.push(s.id);
  }

  const tagIds = new Map<string, string>();
  let customerTags = 0;
  for (let start = 0; start < opts.customers; start += batchSize) {
    const end = Math.min(opts.customers, start + batchSize);
    const cols: unknown[][] = Array.from({ length: 17 }, () => []);
    const tagCols: string[][] = [[], [], []];
    const newTags: [string, string][] = [];
    for (let i = start; i < end; i++) {
      const f = fakeCustomer(i, seedNo);
      const id = randomUUID();
      const createdAt = f.createdAt.getTime();
      const row = [
        id,
        f.firstName,
        f.lastName,
        f.company,
        f.email,
        f.phone,
        f.stage,
        f.sourceChannel,
        f.sourceCampaign,
        f.country,
        f.city,
        f.incomeBand,
        f.dealLikelihood,
        pgArray(f.productInterests),
        f.birthDate.toISOString().slice(0, 10),
        staffIds[i % staffIds.length],
        new Date(createdAt).toISOString(),
      ];
      for (let c = 0; c < row.length; c++) cols[c]!.push(row[c]);
      f.tags.forEach((name, k) => {
        let tagId = tagIds.get(name);
        if (!tagId) {
          tagId = randomUUID();
          tagIds.set(name, tagId);
          newTags.push([name, tagId]);
        }
        tagCols[0]!.push(id);
        tagCols[1]!.push(tagId);
        // Distinct per tag so the API's order (CustomerTag.createdAt) is deterministic.
        tagCols[2]!.push(new Date(createdAt + k).toISOString());
      });
    }
    if (newTags.length) {
      await db.sql.query(
        `INSERT INTO "Tag" ("id", "shopId", "name") SELECT u.id, $1::uuid, u.name FROM unnest($2::uuid[], $3::text[]) AS u(id, name)`,
        [shopId, newTags.map((t) => t[1]), newTags.map((t) => t[0])],
      );
    }
    await db.sql.query(INSERT_CUSTOMERS, [shopId, ...cols]);
    if (tagCols[0]!.length) {
      await db.sql.query(INSERT_CUSTOMER_TAGS, [shopId, ...tagCols]);
      customerTags += tagCols[0]!.length;
    }
  }
  // As autovacuum would eventually: statistics, hint bits and the visibility map (index-only scans).
  for (const table of ['Customer', 'CustomerTag', 'Tag', 'StaffUser', 'ApiKey']) await db.sql.exec(`VACUUM ANALYZE "${table}"`);
  return {
    shopId,
    secretKey: created.secretKey,
    customers: opts.customers,
    staff: staffIds.length,
    tags: tagIds.size,
    customerTags,
    ms: Math.round(performance.now() - started),
  };
}

// ---------------------------------------------------------------------------------------------
// Targets

export type Target = { name: string; url: string; stop(): Promise<void> };

/** The real API: buildApp with production config, on a free port. */
export async function startApi(db: Database, env: Record<string, string> = {}): Promise<Target & { base: string }> {
  // Load figures measure the server, not the abuse limits: budgets far above what a run sends.
  const config = loadConfig({
    NODE_ENV: 'production',
    PORT: '0',
    LOG_LEVEL: 'silent',
    LOYALTY_INTERVAL_MS: '0',
    // No cost budget: nothing charged, no `extensions.cost` (every response body must be identical).
    COST_BUDGET: '0',
    RATE_LIMIT_ANONYMOUS_PER_IP: '1000000000',
    ...env,
  });
  const app = buildApp({ config, database: db, logger: createLogger('silent'), tokenSecret: randomBytes(32).toString('hex') });
  const base = await app.start();
  return { name: 'api', base, url: `${base}/graphql`, stop: () => app.stop() };
}

const RAW_SQL = `
WITH page AS (
  SELECT c."id", c."firstName", c."lastName", c."company", c."email", c."phone", c."stage", c."ownerId",
         c."sourceChannel", c."sourceCampaign", c."createdAt"
  FROM "Customer" c
  WHERE c."shopId" = $1 AND c."status" = 'ACTIVE'
  ORDER BY c."createdAt" DESC, c."id" DESC
  LIMIT $2
), total AS (
  SELECT count(*)::int AS n FROM "Customer" WHERE "shopId" = $1 AND "status" = 'ACTIVE'
)
SELECT p."id", p."firstName", p."lastName", p."company", p."email", p."phone", p."stage"::text AS "stage",
       p."sourceChannel"::text AS "sourceChannel", p."sourceCampaign", s."name" AS "ownerName",
       COALESCE((SELECT json_agg(t."name" ORDER BY t."name")
                 FROM "CustomerTag" ct JOIN "Tag" t ON t."id" = ct."tagId"
                 WHERE ct."customerId" = p."id"), '[]'::json) AS "tags",
       total.n AS "totalCount"
FROM page p CROSS JOIN total LEFT JOIN "StaffUser" s ON s."id" = p."ownerId"
ORDER BY p."createdAt" DESC, p."id" DESC`;

type RawRow = {
  id: string;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  email: string | null;
  phone: string | null;
  stage: string;
  sourceChannel: string | null;
  sourceCampaign: string | null;
  ownerName: string | null;
  tags: string[];
  totalCount: number;
};

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Renders rows in the GraphQL response's shape (same ids, cursor format and key order). */
export function rawBody(rows: RawRow[], totalCount: number): string {
  const page = rows.slice(0, PAGE_SIZE);
  const last = page[page.length - 1];
  return JSON.stringify({
    data: {
      customers: {
        totalCount,
        edges: page.map((c) => ({
          node: {
            id: b64(`Customer:${c.id}`),
            displayName: [c.firstName, c.lastName].filter(Boolean).join(' ') || c.company || c.email || c.phone || 'Unnamed customer',
            email: c.email,
            stage: c.stage,
            owner: c.ownerName == null ? null : { name: c.ownerName },
            tags: c.tags.map((name) => ({ name })),
            source: { channel: c.sourceChannel, campaign: c.sourceCampaign },
          },
        })),
        pageInfo: { hasNextPage: rows.length > PAGE_SIZE, endCursor: last ? b64(`GPC:S:${last.id}`) : null },
      },
    },
  });
}

/**
 * A bare node:http server answering every request with `answer(body, runner)`: the shared shape of
 * every scenario's raw baseline. On PostgreSQL it queries through its own `pg` pool of `poolSize`;
 * on PGlite through the database's SqlRunner.
 */
export async function serveRaw(
  bench: Pick<BenchDatabase, 'db' | 'url'>,
  poolSize: number,
  answer: (requestBody: string, runner: SqlRunner) => Promise<string>,
): Promise<Target> {
  const pool = bench.url ? new pg.Pool({ connectionString: bench.url, max: poolSize }) : null;
  // An idle connection ended by the server (e.g. the database dropped on Ctrl-C) must not crash the process.
  pool?.on('error', () => {});
  const runner: SqlRunner = pool
    ? { exec: async (s) => void (await pool.query(s)), query: async <T>(s: string, p?: unknown[]) => (await pool.query(s, p)).rows as T[] }
    : bench.db.sql;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      // Read the request body like the API does (same POST for both targets).
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = await answer(Buffer.concat(chunks).toString('utf8'), runner);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String((e as Error).message));
    }
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    name: 'raw',
    url: `http://127.0.0.1:${port}/graphql`,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool?.end();
    },
  };
}

/** The customers-list baseline: the equivalent SQL (one statement) returning the same JSON. */
export function startRaw(bench: Pick<BenchDatabase, 'db' | 'url'>, shopId: string, poolSize = 10): Promise<Target> {
  return serveRaw(bench, poolSize, async (_body, runner) => {
    const rows = await runner.query<RawRow>(RAW_SQL, [shopId, PAGE_SIZE + 1]);
    const total = rows[0]?.totalCount ?? (await runner.query<{ n: number }>(RAW_SQL_COUNT, [shopId]))[0]?.n ?? 0;
    return rawBody(rows, total);
  });
}

const RAW_SQL_COUNT = `SELECT count(*)::int AS n FROM "Customer" WHERE "shopId" = $1 AND "status" = 'ACTIVE'`;

// ---------------------------------------------------------------------------------------------
// Correctness check

export type RequestSpec = { method: 'POST'; headers: Record<string, string>; body: string };

export const customersRequest = (secretKey: string): RequestSpec => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${secretKey}` },
  body: JSON.stringify({ query: CUSTOMERS_QUERY }),
});

type CustomersData = {
  data?: { customers?: { totalCount: number; edges: { node: unknown }[]; pageInfo: { hasNextPage: boolean } } };
  errors?: unknown[];
};

/**
 * Calls both targets once with `request` and throws unless both answer 200 without GraphQL errors,
 * pass the scenario's own `check` of the parsed answer, and agree (deep-equal data). Returns the
 * bodies (used as autocannon's expectBody, so every measured response is checked too).
 */
export async function verifyPair<T extends { errors?: unknown[] }>(
  api: Target,
  raw: Target,
  request: RequestSpec,
  check: (t: Target, json: T, text: string) => void,
  /** How much of each body a disagreement shows. */
  show = 800,
): Promise<{ api: string; raw: string }> {
  const bodies: Record<string, string> = {};
  const parsed: Record<string, T> = {};
  for (const t of [api, raw]) {
    const res = await fetch(t.url, request);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${t.name}: HTTP ${res.status}: ${text.slice(0, 500)}`);
    const json = JSON.parse(text) as T;
    if (json.errors?.length) throw new Error(`${t.name}: GraphQL errors: ${JSON.stringify(json.errors).slice(0, 500)}`);
    check(t, json, text);
    bodies[t.name] = text;
    parsed[t.name] = json;
  }
  if (!isDeepStrictEqual(parsed[api.name], parsed[raw.name])) {
    throw new Error(`API and raw baseline disagree:\napi: ${bodies[api.name]!.slice(0, show)}\nraw: ${bodies[raw.name]!.slice(0, show)}`);
  }
  return { api: bodies[api.name]!, raw: bodies[raw.name]! };
}

/**
 * Calls both targets once and throws unless both answer 200 with totalCount === expected, a full
 * first page, and the same data. Returns the bodies.
 */
export function verify(api: Target, raw: Target, request: RequestSpec, expected: number): Promise<{ api: string; raw: string }> {
  return verifyPair<CustomersData>(
    api,
    raw,
    request,
    (t, json, text) => {
      const conn = json.data?.customers;
      if (!conn) throw new Error(`${t.name}: no data.customers in ${text.slice(0, 200)}`);
      if (conn.totalCount !== expected) throw new Error(`${t.name}: totalCount ${conn.totalCount}, expected ${expected}`);
      const page = Math.min(PAGE_SIZE, expected);
      if (conn.edges.length !== page) throw new Error(`${t.name}: ${conn.edges.length} edges, expected ${page}`);
      if (conn.pageInfo.hasNextPage !== expected > PAGE_SIZE) throw new Error(`${t.name}: wrong hasNextPage`);
    },
    600,
  );
}

// ---------------------------------------------------------------------------------------------
// Load

export type LoadOptions = {
  connections: number;
  /** Measured seconds. */
  duration: number;
  /** Seconds of unmeasured load first. */
  warmup: number;
  /** Run autocannon in this many worker threads (0: in this thread, competing with the server). */
  workers?: number;
};

export type LoadResult = {
  target: string;
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  maxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Responses whose body differed from the verified one. */
  mismatches: number;
};

type AutocannonOptions = Parameters<typeof autocannon>[0] & { expectBody?: string };

function fire(opts: AutocannonOptions): Promise<autocannon.Result & { mismatches?: number }> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

function toLoadResult(target: Target, r: autocannon.Result & { mismatches?: number }): LoadResult {
  const seconds = r.duration;
  return {
    target: target.name,
    requests: r.requests.total,
    seconds,
    rps: seconds > 0 ? r.requests.total / seconds : 0,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    mismatches: r.mismatches ?? 0,
  };
}

const requestOptions = (target: Target, request: RequestSpec, connections: number): AutocannonOptions => ({
  url: target.url,
  method: request.method,
  headers: request.headers,
  body: request.body,
  connections,
  pipelining: 1,
  timeout: 10,
});

/** Warm-up, then `duration` seconds of load with `connections` connections; every response body must equal `expectBody`. */
export async function load(target: Target, request: RequestSpec, expectBody: string, opts: LoadOptions): Promise<LoadResult> {
  const base: AutocannonOptions = {
    ...requestOptions(target, request, opts.connections),
    ...(opts.workers ? { workers: opts.workers } : {}),
  };
  if (opts.warmup > 0) await fire({ ...base, duration: opts.warmup });
  return toLoadResult(target, await fire({ ...base, duration: opts.duration, expectBody }));
}

/** `duration` seconds at `requestsPerSecond` over all connections (autocannon's overallRate), no warm-up, in this thread. */
export async function loadAtRate(
  target: Target,
  request: RequestSpec,
  expectBody: string,
  opts: { connections: number; duration: number; requestsPerSecond: number },
): Promise<LoadResult> {
  const r = await fire({
    ...requestOptions(target, request, opts.connections),
    overallRate: opts.requestsPerSecond,
    duration: opts.duration,
    expectBody,
  });
  return toLoadResult(target, r);
}

/** The load phase of an API-vs-raw scenario: the API, then the raw baseline, each checked against its verified body. */
export async function loadPhase(
  api: Target,
  raw: Target,
  request: RequestSpec,
  bodies: { api: string; raw: string },
  opts: LoadOptions,
): Promise<{ api: LoadResult; raw: LoadResult }> {
  const loadOpts: LoadOptions = { connections: opts.connections, duration: opts.duration, warmup: opts.warmup, workers: opts.workers };
  return { api: await load(api, request, bodies.api, loadOpts), raw: await load(raw, request, bodies.raw, loadOpts) };
}

/** The SQL statements Prisma sends for one steady-state API request (the first one of a key also records its last use). */
export async function recordApiSql(bench: BenchDatabase, api: Target, request: RequestSpec): Promise<string[]> {
  const stopRecording = bench.recordSql();
  await fetch(api.url, request).then((r) => r.text());
  return stopRecording();
}

// ---------------------------------------------------------------------------------------------
// One scenario end to end

type Stoppable = { stop(): Promise<void> };

/** The log line naming the bench database (or why PGlite is used). */
export const databaseLine = (bench: BenchDatabase) =>
  bench.note ?? `database: ${bench.kind}${bench.url ? ` (${new URL(bench.url).pathname.slice(1)})` : ''}`;

/**
 * Opens a bench database and runs `body` with it and `track`, which registers a started server:
 * whatever happens, the servers are stopped (last started first), then the database is closed
 * (dropped on PostgreSQL).
 */
export async function withBenchDatabase<R>(
  opts: OpenOptions,
  body: (bench: BenchDatabase, track: <T extends Stoppable>(server: T) => T) => Promise<R>,
): Promise<R> {
  const bench = await openBenchDatabase(opts);
  const servers: Stoppable[] = [];
  try {
    return await body(bench, (server) => {
      servers.push(server);
      return server;
    });
  } finally {
    for (const t of servers.reverse()) await t.stop().catch(() => {});
    await bench.close();
  }
}

/** Where and how a scenario ran: the first fields of every API-vs-raw result. */
export type RunInfo = { date: string; backend: 'postgres' | 'pglite'; note?: string; node: string };
export type LoadInfo = { connections: number; duration: number; warmup: number; workers: number; poolSize: number };

export const runInfo = (bench: BenchDatabase): RunInfo => ({
  date: new Date().toISOString(),
  backend: bench.kind,
  ...(bench.note ? { note: bench.note } : {}),
  node: process.version,
});

export const loadInfo = (opts: LoadOptions, poolSize: number): LoadInfo => ({
  connections: opts.connections,
  duration: opts.duration,
  warmup: opts.warmup,
  workers: opts.workers ?? 0,
  poolSize,
});

export type BaseScenarioOptions = OpenOptions &
  LoadOptions & {
    seed?: number;
    /** Progress lines. */
    log?: (line: string) => void;
  };

/** What differs between the API-vs-raw scenarios that load one request: seeding, the raw baseline, the request and its check. */
export type ScenarioSpec<S extends { shopId: string; secretKey: string }, V extends { api: string; raw: string }> = {
  /** Logged before seeding. */
  seeding: string;
  seed(db: Database): Promise<S>;
  seeded(s: S): string;
  startRaw(bench: BenchDatabase, s: S, poolSize: number): Promise<Target>;
  request(s: S): RequestSpec;
  /** The scenario's own correctness check of both targets (throws); returns the verified bodies. */
  verify(api: Target, raw: Target, request: RequestSpec, s: S): Promise<V>;
  verified(v: V): string;
};

export type ScenarioRun<S, V> = {
  info: RunInfo;
  seeded: S;
  verified: V;
  load: LoadInfo;
  measured: { apiSql: string[]; api: LoadResult; raw: LoadResult; ratio: LoadRatios };
};

/**
 * An API-vs-raw scenario end to end: a fresh bench database, seeding, the API and the raw baseline
 * started, both verified, the API's SQL of one request recorded, then both loaded.
 */
export async function runScenario<S extends { shopId: string; secretKey: string }, V extends { api: string; raw: string }>(
  opts: BaseScenarioOptions,
  spec: ScenarioSpec<S, V>,
): Promise<ScenarioRun<S, V>> {
  const log = opts.log ?? (() => {});
  const poolSize = opts.poolSize ?? 10;
  return withBenchDatabase({ backend: opts.backend, adminUrl: opts.adminUrl, poolSize }, async (bench, track) => {
    log(databaseLine(bench));
    log(spec.seeding);
    const seeded = await spec.seed(bench.db);
    log(spec.seeded(seeded));
    const api = track(await startApi(bench.db));
    const raw = track(await spec.startRaw(bench, seeded, poolSize));
    const request = spec.request(seeded);
    const verified = await spec.verify(api, raw, request, seeded);
    const apiSql = await recordApiSql(bench, api, request);
    log(spec.verified(verified));
    log(`load: ${opts.connections} connections, ${opts.warmup} s warm-up + ${opts.duration} s per target`);
    const results = await loadPhase(api, raw, request, verified, opts);
    return {
      info: runInfo(bench),
      seeded,
      verified,
      load: loadInfo(opts, poolSize),
      measured: { apiSql, ...results, ratio: loadRatios(results.api, results.raw) },
    };
  });
}

export type ScenarioOptions = BaseScenarioOptions & { customers: number };

/** The fields every API-vs-raw result of one request shares. */
export type ApiVsRawResult = RunInfo & {
  load: LoadInfo;
  /** The measured GraphQL document. */
  query: string;
  /** SQL statements Prisma sent for one API request. */
  apiSql: string[];
  api: LoadResult;
  raw: LoadResult;
  /** API / raw. */
  ratio: LoadRatios;
};

export type ScenarioResult = ApiVsRawResult & {
  scenario: 'customers-list';
  customers: number;
  seeded: Omit<Seeded, 'shopId' | 'secretKey'>;
};

export async function runCustomersList(opts: ScenarioOptions): Promise<ScenarioResult> {
  const r = await runScenario(opts, {
    seeding: `seeding ${opts.customers} customers...`,
    seed: (db) => seed(db, { customers: opts.customers, seed: opts.seed }),
    seeded: (s) => `seeded in ${(s.ms / 1000).toFixed(1)} s (${s.staff} staff, ${s.tags} tags, ${s.customerTags} customer tags)`,
    startRaw: (bench, s, poolSize) => startRaw(bench, s.shopId, poolSize),
    request: (s) => customersRequest(s.secretKey),
    verify: (api, raw, request) => verify(api, raw, request, opts.customers),
    verified: () => 'verified: API and raw baseline return the same page',
  });
  const { shopId: _s, secretKey: _k, ...seeded } = r.seeded;
  return {
    scenario: 'customers-list',
    ...r.info,
    customers: opts.customers,
    seeded,
    load: r.load,
    query: CUSTOMERS_QUERY,
    ...r.measured,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

/** The API and raw rows of a report, as aligned text lines (header, rule, one line per target). */
export function formatLoadTable(results: LoadResult[]): string[] {
  const rows = [
    ['target', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests', 'errors', 'non-2xx', 'mismatch'],
    ...results.map((x) => [
      x.target === 'api' ? 'GraphQL API' : 'raw pg + node:http',
      fmt(x.rps),
      fmt(x.p50, 2),
      fmt(x.p90, 2),
      fmt(x.p99, 2),
      fmt(x.maxMs, 0),
      String(x.requests),
      String(x.errors + x.timeouts),
      String(x.non2xx),
      String(x.mismatches),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)];
}

export type LoadRatios = { rps: number; p50: number; p99: number };
/** API / raw of requests per second and latencies (NaN when the baseline measured 0). */
export function loadRatios(api: LoadResult, raw: LoadResult): LoadRatios {
  const r = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
  return { rps: r(api.rps, raw.rps), p50: r(api.p50, raw.p50), p99: r(api.p99, raw.p99) };
}

/** The report line describing a load run (shared by the API-vs-raw scenarios). */
export function loadLine(
  r: { load: { connections: number; warmup: number; duration: number; poolSize: number }; apiSql: unknown[] },
  rawNote = '',
  per = 'request',
): string {
  return `${r.load.connections} connections, ${r.load.warmup} s warm-up + ${r.load.duration} s each, pool ${r.load.poolSize}; API used ${r.apiSql.length} SQL statements per ${per}${rawNote}`;
}

/** Where a result ran, for the first line of a report: ` on <backend> (<note>), node <version>`. */
export const ranOn = (r: RunInfo) => ` on ${r.backend}${r.note ? ` (${r.note})` : ''}, node ${r.node}`;

/** An API-vs-raw report: `heading` with where it ran, the load line, the API and raw table and the ratios (p99 with `p99`). */
export function formatApiVsRaw(heading: string, r: ApiVsRawResult, opts: { rawNote?: string; p99?: boolean } = {}): string {
  return [
    `${heading}${ranOn(r)}`,
    loadLine(r, opts.rawNote),
    '',
    ...formatLoadTable([r.api, r.raw]),
    '',
    `API / raw: req/s ${fmt(r.ratio.rps, 2)}x, p50 ${fmt(r.ratio.p50, 2)}x${opts.p99 ? `, p99 ${fmt(r.ratio.p99, 2)}x` : ''}`,
  ].join('\n');
}

/** A readable table of a result. */
export const formatReport = (r: ScenarioResult): string => formatApiVsRaw(`customers-list: ${r.customers} customers`, r);

/** Writes `value` as pretty JSON at `path`, creating the folder. */
export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

export type ReportOptions = { jsonPath?: string; print?: (s: string) => void };

/** A scenario's report function: prints `format(result)` and, when `jsonPath` is given, writes the result as JSON there. */
export function reporter<R>(format: (r: R) => string): (r: R, opts?: ReportOptions) => string {
  return (r, opts = {}) => {
    const text = format(r);
    (opts.print ?? console.log)(text);
    if (opts.jsonPath) writeJson(opts.jsonPath, r);
    return text;
  };
}

/** Prints the table and, when `jsonPath` is given, writes the result as JSON there. */
export const report = reporter(formatReport);
