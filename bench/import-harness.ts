import { randomUUID } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createShop } from '../packages/server/src/modules/shops/shop.service.ts';
import { forkChild } from './child.ts';
import { clock } from './fanout-clients.ts';
import { type BenchDatabase, fmt, type OpenOptions, startApi, withBenchDatabase } from './harness.ts';
import { type ImportClient, type ImportRun, type ImportSpec, importClient, type ReadSpec } from './import-client.ts';

/**
 * Bulk import (docs/import.md): N customers then 2N orders through the real path (POST /imports,
 * startImport, waiting on importJob) against a raw baseline in the same run (the same rows sent as
 * plain set-based INSERTs of the bare columns: no validation, matching, tags, consents, items'
 * replacement or recompute), and the p99 of `customers(first: 50)` of another shop while the
 * import runs vs idle. The imported data is verified (counts, counted revenue) before any figure
 * is reported.
 */
export type ImportBenchOptions = OpenOptions & {
  customers: number;
  orders: number;
  /** IMPORT_BATCH_ROWS of the API (default: the server's default). */
  batchRows?: number;
  samples?: number;
  /**
   * Reads of the other shop per second, sent at fixed times whether or not the previous one has
   * answered (open loop), each timed from when it was due, so a stall delays every read due during
   * it (no coordinated omission). 0: one read after another (closed loop, the bench's first form:
   * a single client that never pauses). Default 50.
   */
  readRate?: number;
  /** false: every import in the API's thread (IMPORT_WORKER_MIN_BYTES above any upload), to compare. Default true. */
  worker?: boolean;
  /**
   * Where the clients (the uploader and the reader, import-client.ts) run: 'process' (default) in
   * a process of their own, as real clients do; 'inline' in the API's process, sharing its event
   * loop and heap (the bench's set-up until 2026-11-28), to compare.
   */
  clients?: 'process' | 'inline';
  log?: (s: string) => void;
};

export type ImportBenchResult = {
  backend: string;
  customers: number;
  orders: number;
  importMs: { customers: number; orders: number; total: number };
  rawMs: { customers: number; orders: number; total: number };
  /** How the raw baseline wrote: COPY (PostgreSQL) or json_to_recordset batches (PGlite). */
  rawMethod: 'COPY' | 'json_to_recordset';
  ratio: number;
  p99Ms: { idle: number; during: number; ratio: number };
  /** Big imports in a worker process (PostgreSQL, the default) or every import in the API's thread. */
  worker: boolean;
  /** The reads per second of the p99 samples (0: back to back) and how many were taken during the import. */
  reads: { rate: number; during: number };
  /** Where the uploader and the reader ran (ImportBenchOptions.clients). */
  clients: 'process' | 'inline';
  /** With `clients: 'process'`: whether their process had a session of its own (forkChild). */
  clientSession?: 'own' | 'bench';
  /**
   * p99 of the API process's event-loop delay, ms (with `clients: 'inline'` the uploader and the
   * reader share it); the import itself runs in the API's thread on PGlite, with `worker: false`
   * and for uploads under IMPORT_WORKER_MIN_BYTES, and otherwise in a worker process of its own.
   */
  eventLoopDelayP99Ms: { idle: number; during: number; maxDuring: number };
  /**
   * The API thread's garbage-collection pauses of 5 ms or more: per second of the import, and per
   * second of the idle samples taken after it (same reads, no import), with the longest.
   */
  gcPauses: { idleMsPerS: number; duringMsPerS: number; maxDuring: number };
  verified: { customers: number; orders: number; orderItems: number; countedTotal: string };
};

const money = (i: number) => (10 + (i % 90)).toFixed(2);

const CUSTOMERS_HEADER = 'externalId,email,firstName,lastName,tags,consentEmail,country,city';
const customerLine = (i: number) => `c${i},p${i}@bench.example,First${i},Last${i},"vip,t${i % 10}",${i % 2 ? 'yes' : 'no'},DE,Berlin`;
const ORDERS_HEADER = 'externalId,customerExternalId,placedAt,currency,itemSku,itemName,itemQuantity,itemUnitPrice';
const orderLine = (customers: number) => (i: number) =>
  `o${i},c${i % customers},2026-0${1 + (i % 9)}-1${i % 10}T10:00:00Z,EUR,SKU${i % 50},Item ${i % 50},1,${money(i)}`;

/**
 * Writes a CSV of n lines in pieces of 1,000: the bench shares its process (and heap) with the API,
 * and the 17 MB of text of the two files built as whole strings, just before the import, left the
 * API's thread a 60-145 ms collection of them in the import's first seconds (measured: 10 to 13 of
 * the 63 slowest reads of a run).
 */
function writeCsv(path: string, header: string, n: number, line: (i: number) => string) {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, `${header}\n`);
    for (let j = 0; j < n; j += 1000) {
      let piece = '';
      for (let k = j; k < Math.min(n, j + 1000); k++) piece += `${line(k)}\n`;
      writeSync(fd, piece);
    }
  } finally {
    closeSync(fd);
  }
  return path;
}
const expectedTotal = (n: number) => {
  let cents = 0n;
  for (let i = 0; i < n; i++) cents += BigInt(money(i).replace('.', ''));
  return `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`;
};

const p99 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] ?? Number.NaN;
};

export async function runImportBench(opts: ImportBenchOptions): Promise<ImportBenchResult> {
  const log = opts.log ?? (() => {});
  return withBenchDatabase(opts, async (bench, track) => {
    const api = track(
      await startApi(bench.db, {
        SEGMENTS_INTERVAL_MS: '0',
        LIFECYCLE_INTERVAL_MS: '0',
        WEBHOOKS: '0',
        IMPORT_MAX_BYTES: String(1 << 30),
        ...(opts.batchRows ? { IMPORT_BATCH_ROWS: String(opts.batchRows) } : {}),
        ...(opts.worker === false ? { IMPORT_WORKER_MIN_BYTES: String(2 ** 31 - 1) } : {}),
      }),
    );
    const base = api.base;
    const prisma = bench.db.prisma;
    const target = await createShop(prisma, { name: 'Import bench' });
    const reader = await createShop(prisma, { name: 'Reader' });
    const rawShop = await createShop(prisma, { name: 'Raw baseline' });

    // The clients (uploader and reader) in their own process and session by default, as real
    // clients on their own machines are (import-client.ts; child.ts forkChild on sessions); their
    // files written before anything is timed.
    const client: ImportClient = opts.clients === 'inline' ? { ...importClient(), stop: async () => {} } : await childImportClient();
    track(client);
    const dir = mkdtempSync(join(tmpdir(), 'crm-import-bench-'));
    track({ stop: async () => rmSync(dir, { recursive: true, force: true }) });
    // Every file written before anything is timed, and before the reader's shop is filled and read.
    const readerCsv = writeCsv(join(dir, 'reader.csv'), CUSTOMERS_HEADER, Math.min(2000, opts.customers), customerLine);
    const imports: ImportSpec[] = [
      {
        key: target.secretKey,
        kind: 'customers',
        path: writeCsv(join(dir, 'customers.csv'), CUSTOMERS_HEADER, opts.customers, customerLine),
      },
      {
        key: target.secretKey,
        kind: 'orders',
        path: writeCsv(join(dir, 'orders.csv'), ORDERS_HEADER, opts.orders, orderLine(opts.customers)),
      },
    ];
    const read: ReadSpec = { base, key: reader.secretKey, rate: opts.readRate ?? 50 };

    // The reader's shop: a page to read while the import runs.
    await client.run({ base, imports: [{ key: reader.secretKey, kind: 'customers', path: readerCsv }] });
    const samples = opts.samples ?? 1000;
    await client.warm({ read, n: 50 });
    // Idle: half the samples before the import and half after it, so a change of the machine's
    // other load during the run weighs on both sides.
    const idle: number[] = [];
    const eldIdle = monitorEventLoopDelay({ resolution: 5 });
    const sampleIdle = async (n: number) => {
      const t0 = clock();
      eldIdle.enable();
      idle.push(...(await client.idle({ read, n })));
      eldIdle.disable();
      return { t0, end: clock() };
    };
    // Garbage collection pauses of the API's thread of 5 ms or more ([clock, ms]): a slow read next
    // to one waited on the collector, not on the database.
    // The trace also keeps each pause's kind (perf_hooks' NODE_PERFORMANCE_GC_*: 1 minor, 2 major, 4 incremental, 8 weak callbacks).
    const gcAt: [number, number, number][] = [];
    const gcWatch = new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        if (e.duration >= 5)
          gcAt.push([
            performance.timeOrigin + e.startTime,
            Math.round(e.duration * 10) / 10,
            (e as { detail?: { kind?: number } }).detail?.kind ?? 0,
          ]);
    });
    gcWatch.observe({ entryTypes: ['gc'] });
    await sampleIdle(Math.ceil(samples / 2));

    log(`importing ${opts.customers} customers and ${opts.orders} orders ...`);
    const eldDuring = monitorEventLoopDelay({ resolution: 5 });
    eldDuring.enable();
    const run = await client.run({ base, imports, read });
    eldDuring.disable();
    const after = await sampleIdle(Math.floor(samples / 2));
    gcWatch.disconnect();
    const [cMs = 0, oMs = 0] = run.ms;
    const during = run.during;
    const gc = gcAt.map(([at, ms, kind]): [number, number, number] => [Math.round(at - run.t0), ms, kind]);
    const importEnd = Math.round(run.end - run.t0);
    const idleEnd = Math.round(after.end - run.t0);
    const pausedMs = (from: number, to: number) => gc.filter(([at]) => at >= from && at < to).reduce((sum, [, ms]) => sum + ms, 0);
    const gcPauses = {
      idleMsPerS: pausedMs(Math.round(after.t0 - run.t0), idleEnd) / Math.max(1, (idleEnd - Math.round(after.t0 - run.t0)) / 1000),
      duringMsPerS: pausedMs(0, importEnd) / Math.max(1, importEnd / 1000),
      maxDuring: Math.max(0, ...gc.filter(([at]) => at >= 0 && at < importEnd).map(([, ms]) => ms)),
    };
    // BENCH_IMPORT_TRACE=<file>: every sample during the import with its time, the idle samples,
    // the jobs' progress as polled (when the rows were all read: the recompute began) and the
    // garbage collector's pauses of 5 ms or more ([ms since the start, duration ms]).
    if (process.env.BENCH_IMPORT_TRACE)
      writeFileSync(process.env.BENCH_IMPORT_TRACE, JSON.stringify({ trace: run.trace, idle, progress: run.progress, gc }));

    // Verified before reporting.
    const [v] = await prisma.$queryRawUnsafe<{ customers: number; orders: number; items: number; counted: string }[]>(
      `SELECT (SELECT count(*)::int FROM "Customer" WHERE "shopId" = $1::uuid) AS customers,
              (SELECT count(*)::int FROM "Order" WHERE "shopId" = $1::uuid) AS orders,
              (SELECT count(*)::int FROM "OrderItem" WHERE "shopId" = $1::uuid) AS items,
              (SELECT COALESCE(sum("countedTotal"), 0)::text FROM "Order" WHERE "shopId" = $1::uuid) AS counted`,
      target.shop.id,
    );
    const verified = { customers: v?.customers ?? 0, orders: v?.orders ?? 0, orderItems: v?.items ?? 0, countedTotal: v?.counted ?? '' };
    const want = { customers: opts.customers, orders: opts.orders, orderItems: opts.orders, countedTotal: expectedTotal(opts.orders) };
    if (JSON.stringify(verified) !== JSON.stringify(want)) throw new Error(`import not verified: ${JSON.stringify({ verified, want })}`);

    // The raw baseline: the bare rows straight into the tables: COPY on PostgreSQL (the fastest
    // way in), batches of 5,000 rows of json_to_recordset on PGlite (no COPY FROM STDIN there).
    const shopId = rawShop.shop.id;
    const ids = Array.from({ length: opts.customers }, () => randomUUID());
    const customerRow = (j: number) => [ids[j] as string, shopId, `c${j}`, `p${j}@bench.example`, `First${j}`, `Last${j}`, 'DE', 'Berlin'];
    const orderIds = Array.from({ length: opts.orders }, () => randomUUID());
    const at = (j: number) => `2026-0${1 + (j % 9)}-1${j % 10}T10:00:00Z`;
    const orderRow = (j: number) => [
      orderIds[j] as string,
      shopId,
      ids[j % opts.customers] as string,
      `o${j}`,
      at(j),
      'EUR',
      money(j),
      money(j),
    ];
    const itemRow = (j: number) => [shopId, orderIds[j] as string, '0', 'SKU', 'Item', '1', money(j)];
    const CUSTOMER = '"Customer" (id, "shopId", "externalId", email, "firstName", "lastName", country, city)';
    const ORDER = '"Order" (id, "shopId", "customerId", "externalId", "placedAt", currency, subtotal, total)';
    const ITEM = '"OrderItem" ("shopId", "orderId", position, sku, name, quantity, "unitPrice")';
    const raw = bench.url
      ? await copyBaseline(bench.url, [
          [`COPY ${CUSTOMER} FROM STDIN`, opts.customers, customerRow],
          [`COPY ${ORDER} FROM STDIN`, opts.orders, orderRow],
          [`COPY ${ITEM} FROM STDIN`, opts.orders, itemRow],
        ])
      : await jsonBaseline(prisma, [
          [`INSERT INTO ${CUSTOMER}`, ['uuid', 'uuid', 'text', 'text', 'text', 'text', 'text', 'text'], opts.customers, customerRow],
          [`INSERT INTO ${ORDER}`, ['uuid', 'uuid', 'uuid', 'text', 'timestamptz', 'text', 'numeric', 'numeric'], opts.orders, orderRow],
          [`INSERT INTO ${ITEM}`, ['uuid', 'uuid', 'int', 'text', 'text', 'int', 'numeric'], opts.orders, itemRow],
        ]);
    const [rawCMs = 0, rawOrderMs = 0, rawItemMs = 0] = raw.ms;
    const rawOMs = rawOrderMs + rawItemMs;
    const importMs = { customers: cMs, orders: oMs, total: cMs + oMs };
    const rawMs = { customers: rawCMs, orders: rawOMs, total: rawCMs + rawOMs };
    const p = { idle: p99(idle), during: p99(during) };
    return {
      backend: bench.kind,
      rawMethod: raw.method,
      customers: opts.customers,
      orders: opts.orders,
      importMs,
      rawMs,
      ratio: importMs.total / rawMs.total,
      p99Ms: { ...p, ratio: p.during / p.idle },
      reads: { rate: read.rate, during: during.length },
      clients: opts.clients === 'inline' ? 'inline' : 'process',
      ...(opts.clients === 'inline' ? {} : { clientSession: clientSessionOwn() ? ('own' as const) : ('bench' as const) }),
      worker: opts.worker !== false && bench.kind === 'postgres',
      eventLoopDelayP99Ms: {
        idle: eldIdle.percentile(99) / 1e6,
        during: eldDuring.percentile(99) / 1e6,
        maxDuring: eldDuring.max / 1e6,
      },
      gcPauses,
      verified,
    };
  });
}

const clientSessionOwn = () => process.env.BENCH_IMPORT_CLIENT_SESSION !== 'bench';

/** The clients in a forked process (import-client.ts), driven over IPC. */
async function childImportClient(): Promise<ImportClient> {
  // BENCH_IMPORT_CLIENT_SESSION=bench: in the bench's session instead (to compare; see forkChild).
  const child = await forkChild('./import-client.ts', 'IMPORT_CLIENT_CHILD', [], clientSessionOwn());
  return {
    warm: (arg) => child.call('warm', arg),
    idle: (arg) => child.call<number[]>('idle', arg),
    run: (arg) => child.call<ImportRun>('run', arg),
    stop: () => child.stop(),
  };
}

type RowOf = (j: number) => string[];

/** COPY … FROM STDIN of each table's rows (text format; the values hold no tab, newline or backslash). */
async function copyBaseline(url: string, tables: [string, number, RowOf][]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const ms: number[] = [];
    for (const [sql, n, row] of tables) {
      const t0 = performance.now();
      const lines = (function* () {
        for (let j = 0; j < n; j += 1000) {
          let chunk = '';
          for (let k = j; k < Math.min(j + 1000, n); k++) chunk += `${row(k).join('\t')}\n`;
          yield chunk;
        }
      })();
      await pipeline(Readable.from(lines), client.query(copyFrom(sql)));
      ms.push(performance.now() - t0);
    }
    return { method: 'COPY' as const, ms };
  } finally {
    await client.end();
  }
}

/** The same rows as INSERT … SELECT FROM json_to_recordset, 5,000 a statement (PGlite has no COPY FROM STDIN). */
async function jsonBaseline(prisma: BenchDatabase['db']['prisma'], tables: [string, string[], number, RowOf][]) {
  const ms: number[] = [];
  for (const [insert, types, n, row] of tables) {
    const t0 = performance.now();
    for (let j = 0; j < n; j += 5000) {
      const rows = [];
      for (let k = j; k < Math.min(j + 5000, n); k++) rows.push(row(k));
      const cols = types.map((t, i) => `(r->>${i})::${t}`).join(', ');
      await prisma.$executeRawUnsafe(`${insert} SELECT ${cols} FROM json_array_elements($1::json) AS r`, JSON.stringify(rows));
    }
    ms.push(performance.now() - t0);
  }
  return { method: 'json_to_recordset' as const, ms };
}

export function formatImportReport(r: ImportBenchResult): string {
  return [
    `bulk import (${r.backend}): ${r.customers} customers + ${r.orders} orders`,
    `  import   customers ${fmt(r.importMs.customers / 1000)} s, orders ${fmt(r.importMs.orders / 1000)} s, total ${fmt(r.importMs.total / 1000)} s (${r.worker ? 'in a worker process' : "in the API's thread"})`,
    `  raw (${r.rawMethod}) customers ${fmt(r.rawMs.customers / 1000)} s, orders ${fmt(r.rawMs.orders / 1000)} s, total ${fmt(r.rawMs.total / 1000)} s`,
    `  import / raw ${fmt(r.ratio, 2)}x`,
    `  customers(first: 50) p99: idle ${fmt(r.p99Ms.idle)} ms, during the import ${fmt(r.p99Ms.during)} ms (${fmt(r.p99Ms.ratio, 2)}x; ${r.reads.rate ? `${r.reads.rate} reads/s, open loop` : 'back to back'}, ${r.reads.during} reads during; clients ${r.clients === 'process' ? (r.clientSession === 'bench' ? "in their own process, the bench's session" : 'in their own process and session') : "in the API's process"})`,
    `  event loop delay p99: idle ${fmt(r.eventLoopDelayP99Ms.idle)} ms, during ${fmt(r.eventLoopDelayP99Ms.during)} ms (max ${fmt(r.eventLoopDelayP99Ms.maxDuring)} ms)`,
    `  API thread GC pauses >= 5 ms: idle ${fmt(r.gcPauses.idleMsPerS)} ms/s, during ${fmt(r.gcPauses.duringMsPerS)} ms/s (longest ${fmt(r.gcPauses.maxDuring)} ms)`,
  ].join('\n');
}
