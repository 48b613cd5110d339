/**
 * Peer comparison: the GraphQL API against PostGraphile v5 (stock amber preset, bench-only package
 * bench/peer-postgraphile) and the raw pg + node:http baseline, all three serving the same
 * PostgreSQL bench database, each in a process of its own so that the CPU time per request is the
 * server's alone (the load generator stays in this process). The answers are checked equal in a
 * canonical form (same rows, same nested data) before timing; rounds are interleaved (round r runs
 * every query on every target) so drift on a shared machine hits all three alike. Nothing here
 * asserts on timings.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import {
  fmt,
  type LoadOptions,
  type LoadResult,
  load,
  type OpenOptions,
  type RequestSpec,
  reporter,
  type Target,
  withBenchDatabase,
} from './harness.ts';
import {
  canonicalApi,
  canonicalPeer,
  ORDERS_SIZE,
  PEER_QUERY_NAMES,
  PEER_TIMELINE_SQL,
  type PeerIds,
  type PeerQueryName,
  peerRequests,
} from './peer-queries.ts';
import { seedTimeline } from './timeline-harness.ts';

const here = dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// Seeding

/**
 * The timeline seed (customers, tags, owners, one customer with `events` events), then for every
 * customer two consents and `ordersPerCustomer` orders, set-based.
 */
export async function seedPeer(
  db: Parameters<typeof seedTimeline>[0],
  opts: { customers: number; events: number; ordersPerCustomer?: number; seed?: number },
) {
  const base = await seedTimeline(db, { events: opts.events, customers: opts.customers, seed: opts.seed });
  const started = performance.now();
  await db.sql.query(
    `INSERT INTO "Consent" ("shopId", "customerId", "channel", "granted", "source", "updatedAt")
     SELECT c."shopId", c.id, ch::"ConsentChannel", (hashtext(c.id::text || ch) & 1) = 0, 'bench', c."createdAt"
     FROM "Customer" c CROSS JOIN unnest(ARRAY['EMAIL', 'SMS']) ch WHERE c."shopId" = $1`,
    [base.shopId],
  );
  await db.sql.query(
    `INSERT INTO "Order" ("shopId", "customerId", "externalId", "status", "placedAt", "currency", "subtotal", "total")
     SELECT c."shopId", c.id, 'peer-' || c.id || '-' || g, 'PAID', c."createdAt" + make_interval(days => g), 'EUR', 10 + g, 10 + g
     FROM "Customer" c CROSS JOIN generate_series(1, $2::int) g WHERE c."shopId" = $1 AND c.id <> $3`,
    [base.shopId, opts.ordersPerCustomer ?? 2, base.customerId],
  );
  for (const table of ['Consent', 'Order']) await db.sql.exec(`VACUUM ANALYZE "${table}"`);
  const [counts] = await db.sql.query<{ consents: number; orders: number }>(
    `SELECT (SELECT count(*)::int FROM "Consent" WHERE "shopId" = $1) AS consents, (SELECT count(*)::int FROM "Order" WHERE "shopId" = $1) AS orders`,
    [base.shopId],
  );
  return { ...base, consents: counts?.consents ?? 0, orders: counts?.orders ?? 0, peerMs: Math.round(performance.now() - started) };
}

// ---------------------------------------------------------------------------------------------
// Targets in child processes

export type ServerTarget = Target & {
  /** CPU time (user + system, microseconds) the server process has used so far. */
  cpu(): Promise<number>;
};

async function spawnServer(name: string, args: string[], cwd: string): Promise<ServerTarget> {
  const child: ChildProcess = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name}: did not start within 60 s`)), 60_000);
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /LISTENING (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited with ${code} before serving`));
    });
  });
  child.stdout?.resume();
  return {
    name,
    url,
    cpu: () =>
      new Promise<number>((resolve) => {
        const onMessage = (m: unknown) => {
          const cpu = (m as { cpu?: { user: number; system: number } }).cpu;
          if (!cpu) return;
          child.off('message', onMessage);
          resolve(cpu.user + cpu.system);
        };
        child.on('message', onMessage);
        child.send('cpu');
      }),
    stop: async () => {
      if (child.exitCode != null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const TSX = ['--import', 'tsx'];

/** BENCH_API_CPU_PROF=<dir>: the API process writes a V8 CPU profile there when it stops (node --cpu-prof). */
const cpuProf = () => (process.env.BENCH_API_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_API_CPU_PROF] : []);

/**
 * The API runs as deployed (docs/deployment.md): NODE_ENV=production (no Pothos unused-query
 * checks) and 64 MB semi-spaces (fewer scavenges).
 */
export const startApiProcess = (url: string, poolSize: number, env: Record<string, string> = {}) =>
  withEnv({ NODE_ENV: 'production', ...env }, () =>
    spawnServer('api', [...cpuProf(), '--max-semi-space-size=64', ...TSX, join(here, 'peer-serve.ts'), 'api', url, String(poolSize)], here),
  );
export const startRawProcess = (url: string, poolSize: number, shopId: string) =>
  spawnServer('raw', [...TSX, join(here, 'peer-serve.ts'), 'raw', url, String(poolSize), shopId], here);
export const startPeerProcess = (url: string, poolSize: number) =>
  withEnv({ GRAPHILE_ENV: 'production' }, () =>
    spawnServer('postgraphile', [join(here, 'peer-postgraphile', 'serve.mjs'), url, String(poolSize)], join(here, 'peer-postgraphile')),
  );

/** Runs `f` with extra environment variables (inherited by the child it spawns). */
async function withEnv<T>(env: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Correctness

async function call(target: Target, request: RequestSpec): Promise<{ text: string; json: Record<string, unknown> }> {
  const res = await fetch(target.url, request);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${target.name}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  const json = JSON.parse(text) as { errors?: unknown[] };
  if (json.errors?.length) throw new Error(`${target.name}: GraphQL errors: ${JSON.stringify(json.errors).slice(0, 800)}`);
  return { text, json };
}

export type Verified = { api: string; raw: string; peer: string; rows: number };

/**
 * Calls the three targets once and throws unless all answer 200 without errors, the API and raw
 * bodies are byte-identical, and all three are deep-equal in the canonical form with a non-empty
 * page. Returns the bodies (every measured response must equal them).
 */
export async function verifyPeer(name: PeerQueryName, ids: PeerIds, t: { api: Target; raw: Target; peer: Target }): Promise<Verified> {
  const req = peerRequests(name, ids);
  const api = await call(t.api, req.api);
  const raw = await call(t.raw, req.api);
  const peer = await call(t.peer, req.peer);
  const a = canonicalApi(name, api.json) as { rows: unknown[] };
  const p = canonicalPeer(name, peer.json);
  if (!a.rows.length) throw new Error(`${name}: empty page`);
  if (api.text !== raw.text)
    throw new Error(`${name}: API and raw baseline differ:\napi: ${api.text.slice(0, 600)}\nraw: ${raw.text.slice(0, 600)}`);
  if (!isDeepStrictEqual(a, p)) {
    throw new Error(
      `${name}: API and PostGraphile differ:\napi:  ${JSON.stringify(a).slice(0, 800)}\npeer: ${JSON.stringify(p).slice(0, 800)}`,
    );
  }
  return { api: api.text, raw: raw.text, peer: peer.text, rows: a.rows.length };
}

// ---------------------------------------------------------------------------------------------
// Scenario

export type PeerOptions = Omit<OpenOptions, 'backend'> &
  LoadOptions & {
    customers: number;
    events: number;
    rounds: number;
    queries?: PeerQueryName[];
    /** Environment of the API process (e.g. the response cache switched on). */
    apiEnv?: Record<string, string>;
    seed?: number;
    log?: (line: string) => void;
  };

export type PeerRow = {
  target: 'raw' | 'postgraphile' | 'api';
  requests: number;
  seconds: number;
  rps: number;
  /** Means over the rounds. */
  p50: number;
  p99: number;
  /** Server process CPU time per request, microseconds. */
  cpuUs: number;
  errors: number;
  non2xx: number;
  mismatches: number;
};

export type PeerQueryResult = { query: PeerQueryName; rows: number; targets: PeerRow[] };

export type PeerResult = {
  scenario: 'peer-postgraphile';
  date: string;
  node: string;
  loadavg: number[];
  customers: number;
  seeded: { customers: number; consents: number; orders: number; events: number; ms: number };
  load: { connections: number; duration: number; warmup: number; rounds: number; poolSize: number; workers: number };
  apiEnv: Record<string, string>;
  queries: PeerQueryResult[];
};

/** Seeds, starts the three servers, verifies every query, then runs interleaved measured rounds. */
export async function runPeer(opts: PeerOptions): Promise<PeerResult> {
  const log = opts.log ?? (() => {});
  const poolSize = opts.poolSize ?? 10;
  const queries = opts.queries ?? PEER_QUERY_NAMES;
  return withBenchDatabase({ backend: 'postgres', adminUrl: opts.adminUrl, poolSize: 2 }, async (bench, track) => {
    const url = bench.url as string;
    log(
      `database: ${new URL(url).pathname.slice(1)}; seeding ${opts.customers} customers, consents, orders, ${opts.events} timeline events...`,
    );
    const seeded = await seedPeer(bench.db, { customers: opts.customers, events: opts.events, seed: opts.seed });
    await bench.db.sql.exec(PEER_TIMELINE_SQL);
    const seedMs = seeded.ms + seeded.timelineMs + seeded.peerMs;
    log(`seeded in ${(seedMs / 1000).toFixed(1)} s: ${seeded.consents} consents, ${seeded.orders} orders`);
    const ids: PeerIds = { shopId: seeded.shopId, customerId: seeded.customerId, secretKey: seeded.secretKey };
    const raw = track(await startRawProcess(url, poolSize, seeded.shopId));
    const peer = track(await startPeerProcess(url, poolSize));
    const api = track(await startApiProcess(url, poolSize, opts.apiEnv));
    const byName = { raw, postgraphile: peer, api } as const;
    const verified = new Map<PeerQueryName, Verified>();
    for (const q of queries) verified.set(q, await verifyPeer(q, ids, { api, raw, peer }));
    log(`verified: the three targets return the same rows for ${queries.join(', ')}`);

    type Acc = {
      requests: number;
      seconds: number;
      p50: number[];
      p99: number[];
      cpuUs: number;
      errors: number;
      non2xx: number;
      mismatches: number;
    };
    const acc = new Map<string, Acc>();
    const loadOpts: LoadOptions = { connections: opts.connections, duration: opts.duration, warmup: opts.warmup, workers: opts.workers };
    log(
      `load: ${opts.rounds} interleaved rounds of ${opts.warmup} s warm-up + ${opts.duration} s per query and target, ${opts.connections} connections`,
    );
    for (let round = 1; round <= opts.rounds; round++) {
      for (const q of queries) {
        const req = peerRequests(q, ids);
        const v = verified.get(q) as Verified;
        // Rotate the order of the targets each round.
        const order = (['raw', 'postgraphile', 'api'] as const).map((_, i, all) => all[(i + round) % all.length] as keyof typeof byName);
        for (const name of order) {
          const target = byName[name];
          const request = name === 'postgraphile' ? req.peer : req.api;
          const expect = name === 'postgraphile' ? v.peer : name === 'raw' ? v.raw : v.api;
          // The warm-up runs first (load() does it), so CPU is read around the measured part only.
          if (opts.warmup > 0) await load(target, request, expect, { ...loadOpts, duration: opts.warmup, warmup: 0 });
          const before = await target.cpu();
          const r: LoadResult = await load(target, request, expect, { ...loadOpts, warmup: 0 });
          const cpu = (await target.cpu()) - before;
          const key = `${q}/${name}`;
          const a = acc.get(key) ?? { requests: 0, seconds: 0, p50: [], p99: [], cpuUs: 0, errors: 0, non2xx: 0, mismatches: 0 };
          a.requests += r.requests;
          a.seconds += r.seconds;
          a.p50.push(r.p50);
          a.p99.push(r.p99);
          a.cpuUs += cpu;
          a.errors += r.errors + r.timeouts;
          a.non2xx += r.non2xx;
          a.mismatches += r.mismatches;
          acc.set(key, a);
        }
      }
      log(`round ${round}/${opts.rounds} done`);
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
    return {
      scenario: 'peer-postgraphile',
      date: new Date().toISOString(),
      node: process.version,
      loadavg: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100),
      customers: opts.customers,
      seeded: { customers: seeded.customers, consents: seeded.consents, orders: seeded.orders, events: seeded.events, ms: seedMs },
      load: {
        connections: opts.connections,
        duration: opts.duration,
        warmup: opts.warmup,
        rounds: opts.rounds,
        poolSize,
        workers: opts.workers ?? 0,
      },
      apiEnv: opts.apiEnv ?? {},
      queries: queries.map((q) => ({
        query: q,
        rows: verified.get(q)?.rows ?? 0,
        targets: (['raw', 'postgraphile', 'api'] as const).map((target) => {
          const a = acc.get(`${q}/${target}`) as Acc;
          return {
            target,
            requests: a.requests,
            seconds: a.seconds,
            rps: a.seconds > 0 ? a.requests / a.seconds : 0,
            p50: mean(a.p50),
            p99: mean(a.p99),
            cpuUs: a.requests > 0 ? a.cpuUs / a.requests : Number.NaN,
            errors: a.errors,
            non2xx: a.non2xx,
            mismatches: a.mismatches,
          };
        }),
      })),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Report

const QUERY_LABEL: Record<PeerQueryName, string> = {
  customers: 'customers(first: 50) + owner, tags, consents',
  customersCount: 'same + totalCount',
  customerOrders: `customer + last ${ORDERS_SIZE} orders`,
  timeline: 'customer timeline(first: 50)',
};

/** One table: per query and target req/s, p50, p99, CPU/request, and the API's ratios to the peer and to raw. */
export function formatPeerReport(r: PeerResult): string {
  const head = ['query', 'target', 'req/s', 'p50 ms', 'p99 ms', 'CPU/req us', 'api/peer req/s', 'api/raw req/s', 'api/peer CPU', 'bad'];
  const rows: string[][] = [head];
  for (const q of r.queries) {
    const [raw, peer, api] = q.targets as [PeerRow, PeerRow, PeerRow];
    for (const t of q.targets) {
      const isApi = t.target === 'api';
      rows.push([
        t === raw ? QUERY_LABEL[q.query] : '',
        t.target,
        fmt(t.rps),
        fmt(t.p50, 2),
        fmt(t.p99, 2),
        fmt(t.cpuUs, 0),
        isApi ? `${fmt(api.rps / peer.rps, 2)}x` : '',
        isApi ? `${fmt(api.rps / raw.rps, 2)}x` : '',
        isApi ? `${fmt(api.cpuUs / peer.cpuUs, 2)}x` : '',
        String(t.errors + t.non2xx + t.mismatches),
      ]);
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  const line = (row: string[]) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [
    `peer-postgraphile: ${r.customers} customers, ${r.seeded.consents} consents, ${r.seeded.orders} orders on PostgreSQL, node ${r.node}, load average ${r.loadavg.join(' ')}`,
    `${r.load.rounds} interleaved rounds x (${r.load.warmup} s warm-up + ${r.load.duration} s) per query and target, ${r.load.connections} connections, pool ${r.load.poolSize} each; p50/p99 are means over rounds; CPU = server process CPU time / requests${
      Object.keys(r.apiEnv).length
        ? `; API env: ${Object.entries(r.apiEnv)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`
        : ''
    }`,
    '',
    line(rows[0] as string[]),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.slice(1).map(line),
  ].join('\n');
}

export const reportPeer = reporter(formatPeerReport);
