import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { parse } from 'csv-parse';
import type { Config } from '../../config.ts';
import { withAudit } from '../../db/audit-context.ts';
import type { DatabaseOptions } from '../../db/database.ts';
import type { AnalyzedTable, ShopBound, WriteTx } from '../../db/shop-bound.ts';
import { forShop, type ScopedDb } from '../../db/tenant.ts';
import { AppError, ConflictError, ForbiddenError, NotFoundError, PayloadTooLargeError, ValidationError } from '../../errors.ts';
import { type ImportJob, Prisma, type PrismaClient } from '../../generated/prisma/client.ts';
import type { ImportFormat, ImportKind, ImportMapping } from '../../generated/prisma/enums.ts';
import type { Logger } from '../../logger.ts';
import { periodic } from '../../periodic.ts';
import type { ScopeDeclaration } from '../auth/auth.policy.ts';
import type { EraseStep } from '../customers/customer.erase.ts';
import { emitEvent } from '../events/event.service.ts';
import { applyLifecycle } from '../lifecycle/lifecycle.service.ts';
import { getLifecycleSettings } from '../lifecycle/lifecycle.settings.ts';
import { recomputeLoyalty } from '../loyalty/loyalty.service.ts';
import { refreshSegment } from '../segments/segment.service.ts';
import {
  type CustomerRecord,
  customerRecord,
  type InteractionRecord,
  interactionRecord,
  type OrderRecord,
  orderKey,
  orderRecord,
  type Problem,
  type RawRow,
  toGeneric,
} from './import.mapping.ts';
import {
  customerIdentitySql,
  customerMatchSql,
  customerWriteSql,
  guestCustomersSql,
  interactionMatchSql,
  interactionWriteSql,
  orderMatchSql,
  orderWriteSql,
} from './import.sql.ts';

/**
 * Bulk imports (docs/import.md). An upload (POST /imports, import.http.ts) stores the file in
 * ImportChunk rows and creates an UPLOADED ImportJob; `startImport` runs it in the background:
 * rows are read as a stream, mapped (import.mapping.ts), validated, and written in set-based
 * batches (import.sql.ts), each batch one transaction (a dry run rolls every batch back). A row
 * is all or nothing: a batch the database refuses is split until the refused row is found and
 * rejected. Rejected rows go to ImportRejection (line, field, reason, value), the downloadable
 * report. At the end the derived state is recomputed set-based (loyalty metrics, the lifecycle
 * ladder for the customers touched, saved segments), the upload is deleted, and ONE
 * IMPORT_COMPLETED event is written; per-row events only when the job asks for them (`rowEvents`).
 */

/** Who may upload and run an import of each kind (the upload endpoint and startImport check the same). */
/** (Interactions: the scopes of recordInteraction and of reading interactions, orders:write / orders:read.) */
export const IMPORT_WRITE_SCOPES: Record<ImportKind, ScopeDeclaration & { scope: string }> = {
  CUSTOMERS: { scope: 'contacts:write' },
  ORDERS: { scope: 'orders:write' },
  INTERACTIONS: { scope: 'orders:write' },
};
export const IMPORT_READ_SCOPES: Record<ImportKind, ScopeDeclaration & { scope: string }> = {
  CUSTOMERS: { scope: 'contacts:read' },
  ORDERS: { scope: 'orders:read' },
  INTERACTIONS: { scope: 'orders:read' },
};

export type ImportOptions = Config['imports'];

/** The defaults of `workerMinBytes` and `workersMax` (config.ts IMPORT_WORKER_MIN_BYTES, IMPORT_WORKERS_MAX). */
export const WORKER_MIN_BYTES = 1 << 20;
export const WORKERS_MAX = 2;
/** The old-generation heap of an import's worker process (MB): beyond it the worker ends and its job is FAILED. */
const WORKER_HEAP_MB = 2048;
const INTERRUPTED = 'Interrupted: the server stopped; rows written so far stay, a re-run is safe';

/**
 * The size of a stored chunk. The API's thread copies each chunk twice in one go (gathering the
 * request's pieces, then the driver's parameter): 1 MiB chunks held it 15-25 ms each, so a 12 MB
 * upload stalled the reads served beside it every 25 ms for half a second (measured: a 12 MB
 * file sent by curl, the API's event-loop delay p99 17-25 ms during the upload; 7-10 ms with
 * 256 KiB chunks, the upload 15-20 % longer for the extra statements).
 */
const CHUNK_BYTES = 256 << 10;
export const importGid = (id: string) => encodeGlobalID('ImportJob', id);

// ---------------------------------------------------------------------------------------------
// Upload

/**
 * Stores a request body as a new UPLOADED job, streamed in chunks of CHUNK_BYTES; too large:
 * nothing kept, PayloadTooLargeError. The chunks are written on the driver (`driverWrite`, bound
 * to the shop): through Prisma each 1 MiB parameter stalled the event loop 20-25 ms (measured),
 * so every request served beside an upload waited that long per chunk. `warm`: called once when
 * the body has reached `atBytes` (the API starts an import worker then).
 */
export async function storeUpload(
  db: ScopedDb,
  driverWrite: (build: (shop: Prisma.Sql) => Prisma.Sql) => Promise<number>,
  meta: { kind: ImportKind; format: ImportFormat; apiKeyId: string | null; staffId: string | null },
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  warm?: { atBytes: number; start: () => void },
): Promise<ImportJob> {
  const job = await db.importJob.create({ data: { ...meta } as never });
  let bytes = 0;
  let warmed = !warm;
  let seq = 0;
  let parts: Uint8Array[] = [];
  let pending = 0;
  const flush = async () => {
    if (!pending) return;
    const data = Buffer.concat(parts);
    const n = seq++;
    // The job is the shop's (its id is only looked up with the shop's id), so is the chunk.
    await driverWrite(
      (shop) => Prisma.sql`c AS (
        INSERT INTO "ImportChunk" ("shopId", "jobId", seq, data)
        SELECT j."shopId", j.id, ${n}::int, ${data}::bytea FROM "ImportJob" j WHERE j."shopId" = ${shop} AND j.id = ${job.id}::uuid
        RETURNING "shopId"),
      written AS (SELECT "shopId" FROM c)`,
    );
    parts = [];
    pending = 0;
  };
  try {
    if (body) {
      const reader = body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        if (bytes > maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw new PayloadTooLargeError(maxBytes);
        }
        if (!warmed && bytes >= (warm?.atBytes ?? 0)) {
          // Big enough for a worker process: one starts while the rest arrives (prewarmImportWorker).
          warmed = true;
          warm?.start();
        }
        parts.push(value);
        pending += value.byteLength;
        if (pending >= CHUNK_BYTES) await flush();
      }
    }
    await flush();
    if (!bytes) throw ValidationError.field(['body'], 'The upload is empty');
    return await db.importJob.update({ where: { id: job.id }, data: { bytes } });
  } catch (e) {
    await db.importJob.deleteMany({ where: { id: job.id } });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading the upload

/**
 * The import shares its process (one event loop) with the API, so its synchronous stretches are
 * kept short: a request arriving meanwhile then waits milliseconds, not the hundreds of
 * milliseconds csv-parse took for a whole 1 MiB chunk (measured: event-loop stalls of up to 1.3 s
 * during an import) or the mapping of a whole batch. The upload goes to the parser in slices of
 * SLICE_BYTES, and after each slice and every YIELD_ROWS rows the import lets the event loop serve
 * what is waiting (setImmediate: after pending I/O); about 1,000 turns per 100,000 rows.
 */
const SLICE_BYTES = 16 << 10;
const YIELD_ROWS = 100;

async function* chunksOf(db: ScopedDb, jobId: string, read: { bytes: number }): AsyncGenerator<Buffer> {
  for (let seq = 0; ; seq++) {
    const c = await db.importChunk.findFirst({ where: { jobId, seq } });
    if (!c) return;
    read.bytes += c.data.byteLength;
    const data = Buffer.from(c.data);
    for (let at = 0; at < data.byteLength; at += SLICE_BYTES) {
      if (at) await nextTurn();
      yield data.subarray(at, at + SLICE_BYTES);
    }
  }
}

type Read = { line: number; row: RawRow } | { line: number; problem: Problem };

/** The upload's rows with their line numbers, letting the event loop turn every YIELD_ROWS rows. */
async function* rowsOf(db: ScopedDb, job: ImportJob, read: { bytes: number }): AsyncGenerator<Read> {
  let n = 0;
  for await (const r of parsedRows(db, job, read)) {
    if (++n % YIELD_ROWS === 0) await nextTurn();
    yield r;
  }
}

/** The upload's rows with their line numbers (CSV: by header; JSONL: one object a line). */
async function* parsedRows(db: ScopedDb, job: ImportJob, read: { bytes: number }): AsyncGenerator<Read> {
  if (job.format === 'JSONL') {
    const dec = new TextDecoder();
    let rest = '';
    let line = 0;
    const one = (l: string): Read | null => {
      line++;
      if (!l.trim()) return null;
      try {
        const v = JSON.parse(l) as unknown;
        if (!v || typeof v !== 'object' || Array.isArray(v)) return { line, problem: { field: 'line', reason: 'Not a JSON object' } };
        return { line, row: v as RawRow };
      } catch {
        return { line, problem: { field: 'line', reason: 'Not valid JSON' } };
      }
    };
    for await (const chunk of chunksOf(db, job.id, read)) {
      rest += dec.decode(chunk, { stream: true });
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const r = one(l);
        if (r) yield r;
      }
    }
    rest += dec.decode();
    if (rest) {
      const r = one(rest);
      if (r) yield r;
    }
    return;
  }
  const parser = Readable.from(chunksOf(db, job.id, read)).pipe(
    parse({ bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, info: true }),
  );
  let header: string[] | null = null;
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    const newlines = record.reduce((n, f) => n + (f.match(/\n/g)?.length ?? 0), 0);
    const line = info.lines - newlines;
    if (!header) {
      header = record.map((h) => h.trim());
      continue;
    }
    const row: RawRow = {};
    header.forEach((h, i) => {
      if (h) row[h] = record[i];
    });
    yield { line, row };
  }
}

// ---------------------------------------------------------------------------------------------
// Starting and running

export type Starter = { kind: 'API_KEY' | 'STAFF'; key: string | null; staff: string | null };

/**
 * Marks an UPLOADED job RUNNING with its options and runs it in the background: on PostgreSQL, an
 * upload of at least `workerMinBytes` in a worker process of its own (import.worker.ts), else here.
 * `reopen`: the database's options for the worker's own client (absent on PGlite).
 */
export async function startImport(
  shop: ShopBound,
  logger: Logger,
  starter: Starter,
  input: { id: string; mapping: ImportMapping; dryRun: boolean; rowEvents: boolean },
  opts: ImportOptions,
  mayRun: (kind: ImportKind) => Promise<boolean>,
  reopen?: DatabaseOptions,
): Promise<ImportJob> {
  const job = await shop.db.importJob.findFirst({ where: { id: input.id } });
  if (!job) throw new NotFoundError('Upload', ['input', 'uploadId']);
  if (!(await mayRun(job.kind))) {
    throw new ForbiddenError(`This key may not import ${job.kind.toLowerCase()}`);
  }
  if (job.kind === 'INTERACTIONS' && input.mapping !== 'GENERIC') {
    throw ValidationError.field(['input', 'mapping'], 'Interactions are imported with the GENERIC mapping (Shopify exports none)');
  }
  const { count } = await shop.db.importJob.updateMany({
    where: { id: job.id, status: 'UPLOADED' },
    data: { status: 'RUNNING', mapping: input.mapping, dryRun: input.dryRun, rowEvents: input.rowEvents, startedAt: new Date() },
  });
  if (count !== 1) throw new ConflictError('This upload was already imported; upload the file again', ['input', 'uploadId']);
  const started = (await shop.db.importJob.findFirst({ where: { id: job.id } })) as ImportJob;
  const run =
    reopen && started.bytes >= (opts.workerMinBytes ?? WORKER_MIN_BYTES)
      ? runInWorker(shop, started, starter, opts, logger, reopen)
      : runImportJob(shop, started, starter, opts, logger);
  running.set(job.id, run);
  void run.finally(() => running.delete(job.id));
  return started;
}

/** Runs a RUNNING job to its end in this thread (here, or in import.worker.ts). */
export function runImportJob(shop: ShopBound, job: ImportJob, starter: Starter, opts: ImportOptions, logger: Logger): Promise<void> {
  // `bulk`: the rows are audited as one IMPORT entry per batch, not one entry per row (docs/audit.md).
  return withAudit({ kind: starter.kind, key: starter.key, staff: starter.staff, op: 'startImport', bulk: job.id }, () =>
    runImport(shop, job, opts, logger),
  );
}

const running = new Map<string, Promise<void>>();

const stopping = new Set<string>();

/**
 * Resolves when every import of this process has ended (tests); `stop` (shutdown): they end after
 * their current batch, and every import worker closes its database client and ends.
 */
export async function importsSettled(opts: { stop?: boolean } = {}): Promise<void> {
  if (!opts.stop) {
    while (running.size) await Promise.allSettled([...running.values()]);
    return;
  }
  draining = true;
  try {
    // A worker's job stops in the worker (its own `stopping`); one waiting for a worker, here.
    for (const id of running.keys()) if (!workers.has(id)) stopping.add(id);
    for (const [id, pw] of workers) send(pw, { stop: id });
    for (const pw of [...idleWorkers]) closeWorker(pw);
    while (running.size) await Promise.allSettled([...running.values()]);
    // Every worker closes its database client before this resolves.
    await Promise.all([...closing].map((pw) => pw.exited));
  } finally {
    draining = false;
  }
}

/** In the worker process (import.worker.ts): stop after the current batch, as at a shutdown here. */
export function stopImport(jobId: string) {
  stopping.add(jobId);
}

/**
 * What a worker process is started with: the database it opens once, for every import it runs,
 * and the CPU priority it lowers itself to (import.worker.ts).
 */
export type WorkerData = { reopen: DatabaseOptions; nice: number };
/** One import for a worker process to run (import.worker.ts). */
export type WorkerJob = { shopId: string; jobId: string; starter: Starter; opts: ImportOptions };
export type ToWorker = { run: WorkerJob } | { stop: string } | { close: true };
export type WorkerLog = { log: ['debug' | 'info' | 'warn' | 'error', string, Record<string, unknown> | undefined] };
export type FromWorker = WorkerLog | { done: string };

/**
 * A big import runs in a worker process with its own database client and heap: its parsing,
 * mapping, statements' parameters and their garbage do not stall the API's event loop (measured
 * in the bench: most of the other shop's slow reads during an in-thread import waited on a
 * garbage collection pause of this thread). Its log lines come back to this logger. A worker that
 * ends without finishing its job (a crash) leaves the job FAILED with an honest reason.
 */
async function runInWorker(
  shop: ShopBound,
  job: ImportJob,
  starter: Starter,
  opts: ImportOptions,
  logger: Logger,
  reopen: DatabaseOptions,
) {
  const release = await workerSlot(opts.workersMax ?? WORKERS_MAX);
  try {
    if (stopping.delete(job.id)) {
      const zero = { rowsRead: 0, created: 0, updated: 0, unchanged: 0, rejected: 0 };
      await finishJob(shop, job, 'FAILED', zero, INTERRUPTED).catch((e) =>
        logger.error('import status update failed', { importId: job.id, error: String(e) }),
      );
      return;
    }
    await inWorker(shop, job, starter, opts, logger, reopen);
  } finally {
    release();
  }
}

let activeWorkers = 0;
const waitingForWorker: (() => void)[] = [];
/**
 * At most `max` import workers at once in this process (each holds 2 database connections and a
 * heap of up to WORKER_HEAP_MB): a further import waits here, RUNNING without progress, for a free one.
 */
async function workerSlot(max: number): Promise<() => void> {
  while (activeWorkers >= Math.max(1, max)) await new Promise<void>((r) => waitingForWorker.push(r));
  activeWorkers++;
  return () => {
    activeWorkers--;
    waitingForWorker.shift()?.();
  };
}

const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/**
 * An import runs in a worker process of its own (import.worker.ts), not a thread of the API's: in
 * a session of its own (setsid), it is scheduled apart from the API. Linux's scheduler shares the
 * CPU fairly between sessions first ("autogroup", on in most distributions' kernels), so a worker
 * thread's parsing and its garbage collector's helper threads counted against the API's own share
 * and delayed the wake-ups of the thread serving reads (measured in the bench on two cores: 17
 * waits of 5-12 ms in 8 s for the API's thread, the other shop's read p99 2.1-2.9x idle during an
 * import). Its own process also has its own garbage collector helpers and its own heap limit,
 * and it lowers its own CPU priority (`workerNice`, IMPORT_WORKER_NICE: import.worker.ts).
 *
 * Workers are kept warm: starting one costs seconds of CPU (loading the modules and the Prisma
 * client, opening its connections: 2-3 s of a 100,000-customer import in the bench), so the upload
 * of a big file starts one while its bytes arrive (`prewarmImportWorker`), and a worker that
 * finished an import waits `workerIdleMs` (IMPORT_WORKER_IDLE_MS, default 60 s) for the next one (a
 * customers file is often followed by its orders) before it closes its connections and ends. One
 * idle worker at most; an idle worker does not keep the API's process alive, a shutdown
 * (`importsSettled({ stop: true })`) closes it, and a worker whose API is gone (its IPC channel
 * closed) stops after its current batch and ends.
 * Hand-written: a generic pool (piscina, tinypool) runs stateless tasks and has no notion of a job
 * stopped after its current batch, nor of a worker holding database connections.
 */
export const WORKER_IDLE_MS = 60_000;
const idleMsOf = (opts: ImportOptions) => opts.workerIdleMs ?? WORKER_IDLE_MS;
/** The default of `workerNice` (config.ts IMPORT_WORKER_NICE). */
export const WORKER_NICE = 10;
/** What a worker process is started with (read from WORKER_DATA_ENV). */
const workerDataOf = (reopen: DatabaseOptions, opts: ImportOptions): WorkerData => ({ reopen, nice: opts.workerNice ?? WORKER_NICE });
/** A worker only runs imports of the database it opened, at the priority it set. */
const workerKey = (data: WorkerData) => JSON.stringify(data);
/** The environment variable a worker process reads its `WorkerData` from (JSON). */
export const WORKER_DATA_ENV = 'CRM_IMPORT_WORKER';
type PooledWorker = {
  readonly w: ChildProcess;
  /** `workerKey` of what it was started with. */
  readonly key: string;
  job: { id: string; logger: Logger; done: () => void } | null;
  idleTimer: NodeJS.Timeout | null;
  exited: Promise<void>;
  gone: boolean;
};
const idleWorkers: PooledWorker[] = [];
const closing = new Set<PooledWorker>();
/** Busy workers by the job they run. */
const workers = new Map<string, PooledWorker>();
let draining = false;

/**
 * Sends a message to a worker; false when its channel is closed (it ended or is ending: its 'exit'
 * follows). A send that fails later means the same; 'exit' handles it.
 */
function send(pw: PooledWorker, m: ToWorker): boolean {
  if (pw.gone || !pw.w.connected) return false;
  try {
    // (`send`'s own false only says that messages are queued.)
    pw.w.send(m, () => undefined);
    return true;
  } catch {
    return false;
  }
}

function spawnWorker(data: WorkerData, logger: Logger): PooledWorker {
  const here = import.meta.url;
  const fromSources = here.endsWith('.ts');
  const w = fork(fileURLToPath(new URL(fromSources ? './import.worker.ts' : './import.worker.js', here)), [], {
    // A session of its own: see above.
    detached: true,
    // Its own flags, not the API's (an --inspect port would clash): its heap's limit, the API's
    // young generation, and tsx's loader from the sources (dev, tests; Node 20 has no type stripping).
    execArgv: [`--max-old-space-size=${WORKER_HEAP_MB}`, ...semiSpaceFlags(), ...(fromSources ? ['--import', tsxLoader()] : [])],
    env: { ...process.env, [WORKER_DATA_ENV]: JSON.stringify(data) },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited!: () => void;
  const pw: PooledWorker = {
    w,
    key: workerKey(data),
    job: null,
    idleTimer: null,
    exited: new Promise((r) => (exited = r)),
    gone: false,
  };
  const ended = () => {
    if (pw.gone) return;
    pw.gone = true;
    forget(pw);
    closing.delete(pw);
    const j = pw.job;
    pw.job = null;
    j?.done();
    exited();
  };
  w.on('message', (m: FromWorker) => {
    if ('done' in m) {
      const j = pw.job;
      if (j?.id === m.done) {
        pw.job = null;
        j.done();
      }
      return;
    }
    if (Array.isArray(m?.log) && LOG_LEVELS.has(m.log[0]) && typeof m.log[1] === 'string')
      (pw.job?.logger ?? logger)[m.log[0]](m.log[1], m.log[2]);
  });
  w.on('error', (e) => {
    (pw.job?.logger ?? logger).error('import worker failed', { importId: pw.job?.id, error: String(e?.stack ?? e).slice(0, 2000) });
    // A process that never started emits no 'exit'.
    if (w.pid === undefined) ended();
  });
  w.on('exit', (code, signal) => {
    if (code || signal) (pw.job?.logger ?? logger).warn('import worker ended', { importId: pw.job?.id, code, signal });
    ended();
  });
  return pw;
}

function forget(pw: PooledWorker) {
  if (pw.idleTimer) clearTimeout(pw.idleTimer);
  pw.idleTimer = null;
  const i = idleWorkers.indexOf(pw);
  if (i >= 0) idleWorkers.splice(i, 1);
}

/** Ends a worker that runs nothing: it closes its database client and its thread ends. */
function closeWorker(pw: PooledWorker) {
  forget(pw);
  if (pw.gone || closing.has(pw)) return;
  closing.add(pw);
  // A worker whose channel already closed is ending by itself.
  send(pw, { close: true });
}

/** A worker that finished its import waits for the next one (or ends: one waits at most, none at a shutdown). */
function keepIdle(pw: PooledWorker, idleMs: number) {
  if (pw.gone || closing.has(pw)) return;
  if (draining || idleWorkers.length || idleMs <= 0) return closeWorker(pw);
  pw.w.unref();
  pw.w.channel?.unref();
  pw.idleTimer = setTimeout(() => closeWorker(pw), idleMs);
  pw.idleTimer.unref();
  idleWorkers.push(pw);
}

/** This process's import worker processes by pid: waiting for an import, and running one. */
export function importWorkers(): { idle: number[]; busy: number[] } {
  const pid = (x: PooledWorker) => x.w.pid ?? 0;
  return { idle: idleWorkers.map(pid), busy: [...workers.values()].map(pid) };
}

/** The idle worker started with `data`, else a new one (an idle worker on another database ends). */
function takeWorker(data: WorkerData, logger: Logger): PooledWorker {
  const key = workerKey(data);
  for (const pw of [...idleWorkers]) if (pw.key !== key) closeWorker(pw);
  const pw = idleWorkers.find((x) => x.key === key);
  if (!pw) return spawnWorker(data, logger);
  forget(pw);
  pw.w.ref();
  pw.w.channel?.ref();
  return pw;
}

/**
 * Starts a worker for an import about to come (an upload of at least `workerMinBytes` is arriving),
 * unless one is idle or every worker slot is taken; it waits like any idle worker.
 */
export function prewarmImportWorker(reopen: DatabaseOptions, logger: Logger, opts: ImportOptions) {
  const data = workerDataOf(reopen, opts);
  if (draining || idleMsOf(opts) <= 0 || idleWorkers.some((x) => x.key === workerKey(data))) return;
  if (activeWorkers >= Math.max(1, opts.workersMax ?? WORKERS_MAX)) return;
  try {
    keepIdle(spawnWorker(data, logger), idleMsOf(opts));
  } catch (e) {
    logger.warn('import worker did not start', { error: String(e) });
  }
}

function inWorker(shop: ShopBound, job: ImportJob, starter: Starter, opts: ImportOptions, logger: Logger, reopen: DatabaseOptions) {
  return new Promise<void>((resolve) => {
    let pw: PooledWorker;
    try {
      pw = takeWorker(workerDataOf(reopen, opts), logger);
    } catch (e) {
      logger.error('import worker did not start', { importId: job.id, error: String(e) });
      void failUnfinished(shop, job.id, logger).finally(resolve);
      return;
    }
    workers.set(job.id, pw);
    logger.info('import runs in a worker process', { importId: job.id, pid: pw.w.pid });
    pw.job = {
      id: job.id,
      logger,
      // The job's end (its `done`, or the worker's exit): a job the worker left RUNNING is FAILED.
      done: () => {
        workers.delete(job.id);
        void failUnfinished(shop, job.id, logger).finally(() => {
          keepIdle(pw, idleMsOf(opts));
          resolve();
        });
      },
    };
    if (!send(pw, { run: { shopId: shop.shopId, jobId: job.id, starter, opts } })) {
      logger.error('import worker did not take the job', { importId: job.id });
      pw.job = null;
      workers.delete(job.id);
      closeWorker(pw);
      void failUnfinished(shop, job.id, logger).finally(resolve);
    }
  });
}

/** After its worker ended: a job still RUNNING did not finish (the worker crashed): FAILED. */
async function failUnfinished(shop: ShopBound, jobId: string, logger: Logger) {
  try {
    const job = await shop.db.importJob.findFirst({ where: { id: jobId } });
    if (job?.status !== 'RUNNING') return;
    const counts = { rowsRead: job.rowsRead, created: job.created, updated: job.updated, unchanged: job.unchanged, rejected: job.rejected };
    await finishJob(shop, job, 'FAILED', counts, 'The import stopped unexpectedly; rows written so far stay, a re-run is safe');
  } catch (e) {
    logger.error('import status update failed', { importId: jobId, error: String(e) });
  }
}

/** tsx's loader (its package's main entry, what `node --import tsx` loads), as a file URL. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
/** The API's young-generation size, when it was started with one (docs/deployment.md): the worker's too. */
const semiSpaceFlags = () => process.execArgv.filter((a) => a.startsWith('--max-semi-space-size='));

type Counts = { rowsRead: number; created: number; updated: number; unchanged: number; rejected: number };
type Rejection = { line: number; field: string; reason: string; value?: string | null };

class Rollback<T> extends Error {
  constructor(readonly value: T) {
    super('dry run');
  }
}

/** A database error's reason for the report (constraint names, not values). */
function dbReason(e: unknown): string {
  const msg = String((e as Error)?.message ?? e);
  const m =
    /violates [a-z ]*constraint "([^"]+)"/.exec(msg) ?? /Unique constraint failed on the (?:fields|constraint): \(?`?([^`)]+)/.exec(msg);
  if (m) return `Conflicts with another record (${m[1]})`;
  // Prisma puts the SQLSTATE in its message; the driver (a batch on the driver) on the error.
  const own = (e as { code?: unknown } | null)?.code;
  const code = /Code: `(\w+)`/.exec(msg)?.[1] ?? (typeof own === 'string' && /^[0-9A-Z]{5}$/.test(own) ? own : undefined);
  return `The database refused the row${code ? ` (${code})` : ''}`;
}
const transient = (e: unknown) => /ECONNREFUSED|ECONNRESET|terminat|timeout|Timed out|connection/i.test(String((e as Error)?.message ?? e));

async function runImport(shop: ShopBound, job: ImportJob, opts: ImportOptions, logger: Logger): Promise<void> {
  const db = shop.db;
  const counts: Counts = { rowsRead: 0, created: 0, updated: 0, unchanged: 0, rejected: 0 };
  const read = { bytes: 0 };
  const touched = new Set<string>();
  const started = performance.now();
  let rejections: Rejection[] = [];
  const reject = (line: number, problems: Problem[]) => {
    counts.rejected++;
    for (const p of problems) rejections.push({ line, field: p.field, reason: p.reason, value: p.value ?? null });
  };
  const progress = async () => {
    if (stopping.delete(job.id)) throw new AppError('UNAVAILABLE', INTERRUPTED);
    if (rejections.length) {
      // Taken first: the next batch's rows are read (and rejected) while these are stored.
      const stored = rejections;
      rejections = [];
      for (let i = 0; i < stored.length; i += 5000) {
        try {
          await db.importRejection.createMany({ data: stored.slice(i, i + 5000).map((r) => ({ ...r, jobId: job.id })) as never });
        } catch (e) {
          // Not stored: kept for the next try (the failure's own `progress`).
          rejections = [...stored.slice(i), ...rejections];
          throw e;
        }
      }
    }
    await db.importJob.update({ where: { id: job.id }, data: { ...counts, bytesRead: read.bytes } });
  };
  // Each batch is one transaction on the driver (PostgreSQL): its JSON parameter does not go
  // through Prisma's query layer (ShopBound.writeTransaction).
  const tx = async <T>(fn: (t: WriteTx) => Promise<T>): Promise<T> => {
    if (!job.dryRun) return shop.writeTransaction(fn, { timeout: 300_000, maxWait: 60_000 });
    try {
      await shop.writeTransaction(async (t) => {
        throw new Rollback(await fn(t));
      });
    } catch (e) {
      if (e instanceof Rollback) return e.value as T;
      throw e;
    }
    throw new Error('unreachable');
  };
  /** Writes records in one transaction; a refused batch is split until the refused record is found. */
  const writeSafely = async <R extends { line: number }, T>(recs: R[], write: (t: WriteTx, recs: R[]) => Promise<T>): Promise<T[]> => {
    if (!recs.length) return [];
    try {
      return [await tx((t) => write(t, recs))];
    } catch (e) {
      if (transient(e)) throw e;
      if (recs.length === 1) {
        reject((recs[0] as R).line, [{ field: 'row', reason: dbReason(e) }]);
        return [];
      }
      const h = recs.length >> 1;
      return [...(await writeSafely(recs.slice(0, h), write)), ...(await writeSafely(recs.slice(h), write))];
    }
  };

  // Statistics of the tables this import grows, refreshed each time its rows have doubled: see
  // ShopBound.analyze (an import into a new database otherwise checks every foreign key against
  // the customers with the sequential scan planned while the table was empty).
  let analyzedAt = 0;
  /** Returns whether it analyzed. */
  const grown = async (tables: AnalyzedTable[]) => {
    if (job.dryRun || counts.created - analyzedAt < Math.max(opts.batchRows, analyzedAt)) return false;
    analyzedAt = counts.created;
    await shop.analyze(tables).catch((e) => logger.warn('import: analyze failed', { importId: job.id, error: String(e) }));
    return true;
  };

  // One batch is written at a time, in the file's order; the next one is read, parsed and mapped
  // while it is (its statement runs in PostgreSQL while this thread parses). Matching a batch
  // against the database waits for the write before it, so a batch sees every earlier row.
  let writing: Promise<void> = Promise.resolve();
  const ahead = async (write: () => Promise<void>) => {
    await writing;
    writing = write();
    writing.catch(() => undefined); // its failure surfaces at the next `ahead` or the final `await writing`
  };

  try {
    const ctx = { shop, job, reject, writeSafely, counts, touched };
    const seen = new Map<string, number>();
    if (job.kind === 'CUSTOMERS') {
      const staff = new Map(
        (await db.staffUser.findMany({ select: { id: true, email: true, active: true } })).map((s) => [s.email.toLowerCase(), s]),
      );
      let batch: CustomerRecord[] = [];
      for await (const r of rowsOf(db, job, read)) {
        counts.rowsRead++;
        if ('problem' in r) {
          reject(r.line, [r.problem]);
          continue;
        }
        const res = customerRecord(r.line, toGeneric('CUSTOMERS', job.mapping ?? 'GENERIC', r.row));
        if ('problems' in res) {
          reject(r.line, res.problems);
          continue;
        }
        const rec = res.record;
        const dup = duplicateIn(seen, rec.line, [
          ['externalId', rec.externalId],
          ['email', rec.email],
          ['phone', rec.phone],
        ]);
        if (dup) {
          reject(rec.line, [dup]);
          continue;
        }
        if (rec.ownerEmail) {
          const s = staff.get(rec.ownerEmail);
          if (!s?.active) {
            reject(rec.line, [
              { field: 'ownerEmail', reason: s ? 'The staff user is inactive' : 'No staff user with this email', value: rec.ownerEmail },
            ]);
            continue;
          }
          rec.columns.ownerId = s.id;
        }
        batch.push(rec);
        if (batch.length >= opts.batchRows) {
          const full = batch;
          batch = [];
          await ahead(async () => {
            await customerBatch(ctx, full);
            await progress();
            await grown(['Customer', 'Tag']);
          });
        }
      }
      await writing;
      await customerBatch(ctx, batch);
    } else if (job.kind === 'INTERACTIONS') {
      let batch: InteractionRecord[] = [];
      for await (const r of rowsOf(db, job, read)) {
        counts.rowsRead++;
        if ('problem' in r) {
          reject(r.line, [r.problem]);
          continue;
        }
        const res = interactionRecord(r.line, toGeneric('INTERACTIONS', 'GENERIC', r.row));
        if ('problems' in res) {
          reject(r.line, res.problems);
          continue;
        }
        const rec = res.record;
        const c = rec.customer;
        const same = rec.externalId
          ? null
          : JSON.stringify([c.externalId, c.email, c.phone, rec.occurredAt, rec.type, rec.channel, rec.direction, rec.subject]);
        const dup = duplicateIn(seen, rec.line, [
          ['externalId', rec.externalId],
          ['interaction', same],
        ]);
        if (dup) {
          reject(rec.line, [
            dup.field === 'interaction'
              ? {
                  field: 'row',
                  reason: dup.reason.replace('interaction', 'interaction (customer, time, type, channel, direction, subject)'),
                }
              : dup,
          ]);
          continue;
        }
        batch.push(rec);
        if (batch.length >= opts.batchRows) {
          const full = batch;
          batch = [];
          await ahead(async () => {
            await interactionBatch(ctx, full);
            await progress();
            await grown(['Interaction']);
          });
        }
      }
      await writing;
      await interactionBatch(ctx, batch);
    } else {
      const shopRow = await db.shop.findFirstOrThrow({ select: { baseCurrency: true } });
      const rates = new Set((await db.exchangeRate.findMany({ select: { currency: true } })).map((r) => r.currency));
      const known = (rec: OrderRecord) => rec.currency === shopRow.baseCurrency || rec.exchangeRate != null || rates.has(rec.currency);
      let batch: OrderRecord[] = [];
      let guestsSince = 0;
      let customersAnalyzed = false;
      let group: { line: number; key: string | null; rows: RawRow[] } | null = null;
      const finish = async () => {
        if (!group) return;
        const g = group;
        group = null;
        const res = orderRecord(g.line, g.rows);
        if ('problems' in res) {
          counts.rejected++;
          for (const p of res.problems) rejections.push({ line: p.line, field: p.field, reason: p.reason, value: p.value ?? null });
          return;
        }
        const rec = res.record;
        const dup = duplicateIn(seen, rec.line, [['externalId', rec.externalId]]);
        if (dup) return reject(rec.line, [{ ...dup, reason: `${dup.reason} (the lines of one order must be consecutive)` }]);
        if (!known(rec)) {
          return reject(rec.line, [
            {
              field: 'currency',
              reason: `No exchange rate from ${rec.currency} to the shop's base currency ${shopRow.baseCurrency}: give exchangeRate or set one with setExchangeRate`,
              value: rec.currency,
            },
          ]);
        }
        batch.push(rec);
        if (batch.length >= opts.batchRows) {
          const full = batch;
          batch = [];
          await ahead(async () => {
            guestsSince += await orderBatch(ctx, full, shopRow.baseCurrency);
            await progress();
            // Customer once (its statistics as the import starts), then only when guests were
            // created since: an import of orders for known customers does not grow it (measured:
            // ANALYZE of both tables was 1.7 s of a 200,000-order import).
            if (await grown(customersAnalyzed && !guestsSince ? ['Order'] : ['Order', 'Customer'])) {
              customersAnalyzed = true;
              guestsSince = 0;
            }
          });
        }
      };
      for await (const r of rowsOf(db, job, read)) {
        if ('problem' in r) {
          await finish();
          counts.rowsRead++;
          reject(r.line, [r.problem]);
          continue;
        }
        const row = toGeneric('ORDERS', job.mapping ?? 'GENERIC', r.row);
        const key = orderKey(row);
        if (group && key && key === group.key && job.format === 'CSV') {
          group.rows.push(row);
          continue;
        }
        await finish();
        counts.rowsRead++;
        group = { line: r.line, key, rows: [row] };
      }
      await finish();
      await writing;
      await orderBatch(ctx, batch, shopRow.baseCurrency);
    }
    await progress();
    if (!job.dryRun && touched.size) await recompute(shop, [...touched], job.rowEvents);
    await finishJob(shop, job, 'COMPLETED', counts, null);
    logger.info('import completed', {
      shopId: shop.shopId,
      importId: job.id,
      kind: job.kind,
      ...counts,
      ms: Math.round(performance.now() - started),
    });
  } catch (e) {
    // A batch still being written ends first (its rows stay or roll back whole), then the job.
    await writing.catch(() => undefined);
    const errorId = randomUUID();
    logger.error('import failed', {
      shopId: shop.shopId,
      importId: job.id,
      errorId,
      error: String((e as Error)?.stack ?? e).slice(0, 2000),
    });
    const message =
      e instanceof AppError
        ? e.message
        : `The import stopped on an internal error (${errorId}); rows written so far stay, a re-run is safe`;
    stopping.delete(job.id);
    await progress().catch(() => undefined);
    await finishJob(shop, job, 'FAILED', counts, message).catch((e2) =>
      logger.error('import status update failed', { importId: job.id, error: String(e2) }),
    );
  }
}

/** A record whose identifier an earlier line of the file already had: that problem. */
function duplicateIn(seen: Map<string, number>, line: number, keys: [string, string | null][]): Problem | null {
  for (const [field, v] of keys) {
    if (v == null) continue;
    const earlier = seen.get(`${field}:${v}`);
    if (earlier != null) return { field, reason: `The same ${field} as line ${earlier}`, value: v };
  }
  for (const [field, v] of keys) if (v != null) seen.set(`${field}:${v}`, line);
  return null;
}

type BatchCtx = {
  shop: ShopBound;
  job: ImportJob;
  reject: (line: number, problems: Problem[]) => void;
  writeSafely: <R extends { line: number }, T>(recs: R[], write: (t: WriteTx, recs: R[]) => Promise<T>) => Promise<T[]>;
  counts: Counts;
  touched: Set<string>;
};

async function customerBatch(ctx: BatchCtx, recs: CustomerRecord[]) {
  if (!recs.length) return;
  const { shop } = ctx;
  const keys = recs.map((r, i) => ({ i, ext: r.externalId, email: r.email, phone: r.phone }));
  const matches = await shop.sql<{ i: number; byExternalId: string | null; byEmail: string | null; byPhone: string | null }>((s) =>
    customerMatchSql(s, JSON.stringify(keys)),
  );
  const byIndex = new Map(matches.map((m) => [m.i, m]));
  const targets = [...new Set(matches.flatMap((m) => [m.byExternalId, m.byEmail, m.byPhone]).filter((x): x is string => !!x))];
  const identities = new Map(
    (targets.length ? await shop.sql<{ id: string; externalId: string | null }>((s) => customerIdentitySql(s, targets)) : []).map((c) => [
      c.id,
      c,
    ]),
  );
  const used = new Map<string, number>();
  const rows: (CustomerRecord & { target: string | null })[] = [];
  recs.forEach((rec, i) => {
    const m = byIndex.get(i);
    const target = m?.byExternalId ?? m?.byEmail ?? m?.byPhone ?? null;
    const problems: Problem[] = [];
    if (m?.byEmail && m.byEmail !== target) problems.push({ field: 'email', reason: 'Another customer has this email', value: rec.email });
    if (m?.byPhone && m.byPhone !== target) problems.push({ field: 'phone', reason: 'Another customer has this phone', value: rec.phone });
    const held = target ? identities.get(target)?.externalId : null;
    if (target && rec.externalId && held && held !== rec.externalId) {
      problems.push({
        field: 'externalId',
        reason: `The customer with this email or phone has another externalId (${held})`,
        value: rec.externalId,
      });
    }
    if (target && used.has(target))
      problems.push({ field: 'email', reason: `The same customer as line ${used.get(target)}`, value: rec.email });
    if (problems.length) {
      ctx.reject(rec.line, problems);
      return;
    }
    if (target) used.set(target, rec.line);
    rows.push({ ...rec, target });
  });
  const ids = new Map(rows.map((r) => [r, r.target ?? randomUUID()]));
  const results = await ctx.writeSafely(rows, async (t, part) => {
    const json = JSON.stringify(
      part.map((r, i) => ({
        i,
        id: ids.get(r),
        new: !r.target,
        stage: r.target ? null : r.stage,
        tags: r.tags,
        consents: r.consents,
        ...r.columns,
      })),
    );
    const written = await t.writeRows<{ shopId: string; id: string | null; kind: string }>((s) =>
      customerWriteSql(s, json, ctx.job.rowEvents),
    );
    return { part, written };
  });
  for (const { part, written } of results) {
    const created = new Set(written.filter((x) => x.kind === 'c').map((x) => x.id as string));
    const changed = new Set(written.filter((x) => x.kind !== 'c' && x.id && !created.has(x.id)).map((x) => x.id as string));
    ctx.counts.created += created.size;
    ctx.counts.updated += changed.size;
    ctx.counts.unchanged += part.filter((r) => r.target).length - changed.size;
    for (const id of created) ctx.touched.add(id);
    for (const id of changed) ctx.touched.add(id);
  }
}

/** What the match statements look a row up by: its own external id and its customer's identifiers. */
const matchKeys = (
  r: { externalId: string | null; customer: { externalId: string | null; email: string | null; phone: string | null } },
  i: number,
) => ({ i, ext: r.externalId, cext: r.customer.externalId, email: r.customer.email, phone: r.customer.phone });

/** Returns the number of guest customers it created. */
async function orderBatch(ctx: BatchCtx, recs: OrderRecord[], baseCurrency: string): Promise<number> {
  if (!recs.length) return 0;
  const { shop } = ctx;
  const keys = recs.map(matchKeys);
  const matches = await shop.sql<{
    i: number;
    orderId: string | null;
    byExternalId: string | null;
    byEmail: string | null;
    byPhone: string | null;
  }>((s) => orderMatchSql(s, JSON.stringify(keys)));
  const byIndex = new Map(matches.map((m) => [m.i, m]));
  type Guest = {
    id: string;
    externalId: string | null;
    email: string | null;
    phone: string | null;
    firstName: string | null;
    lastName: string | null;
  };
  const guests = new Map<string, Guest>();
  const rows = recs.map((rec, i) => {
    const m = byIndex.get(i);
    let customerId = m?.byExternalId ?? m?.byEmail ?? m?.byPhone ?? null;
    let guest: Guest | null = null;
    if (!customerId) {
      const c = rec.customer;
      const key = c.externalId ? `x:${c.externalId}` : c.email ? `e:${c.email}` : `p:${c.phone}`;
      guest = guests.get(key) ?? { id: randomUUID(), ...c };
      guests.set(key, guest);
      customerId = guest.id;
    }
    return { rec, line: rec.line, orderId: m?.orderId ?? null, id: m?.orderId ?? randomUUID(), customerId, guest };
  });
  const results = await ctx.writeSafely(rows, async (t, part) => {
    const needed = [...new Map(part.filter((r) => r.guest).map((r) => [r.guest?.id, r.guest as Guest])).values()];
    const guestRows = needed.length
      ? await t.writeRows<{ shopId: string; id: string | null; kind: string }>((s) =>
          guestCustomersSql(s, JSON.stringify(needed), ctx.job.rowEvents),
        )
      : [];
    const json = JSON.stringify(
      part.map((r, i) => ({
        i,
        id: r.id,
        new: !r.orderId,
        externalId: r.rec.externalId,
        customerId: r.customerId,
        channel: r.rec.channel,
        status: r.rec.status,
        placedAt: r.rec.placedAt,
        currency: r.rec.currency,
        subtotal: r.rec.subtotal,
        discount: r.rec.discount,
        tax: r.rec.tax,
        shipping: r.rec.shipping,
        total: r.rec.total,
        refunded: r.rec.refunded,
        exchangeRate: r.rec.exchangeRate,
        items: r.rec.items.map((it, pos) => ({ pos, ...it })),
      })),
    );
    const written = await t.writeRows<{ shopId: string; id: string | null; customerId: string | null; kind: string }>((s) =>
      orderWriteSql(s, json, ctx.job.rowEvents, baseCurrency),
    );
    return { part, written, guests: guestRows.filter((g) => g.kind === 'c').map((g) => g.id as string) };
  });
  let guestsCreated = 0;
  for (const { part, written, guests: created } of results) {
    const c = written.filter((w) => w.kind === 'c').length;
    const u = written.filter((w) => w.kind === 'u').length;
    ctx.counts.created += c;
    ctx.counts.updated += u;
    ctx.counts.unchanged += part.filter((r) => r.orderId).length - u;
    for (const w of written) if (w.customerId) ctx.touched.add(w.customerId);
    for (const g of created) ctx.touched.add(g);
    guestsCreated += created.length;
  }
  return guestsCreated;
}

async function interactionBatch(ctx: BatchCtx, recs: InteractionRecord[]) {
  if (!recs.length) return;
  const { shop } = ctx;
  const keys = recs.map((r, i) => ({
    ...matchKeys(r, i),
    at: r.occurredAt,
    type: r.type,
    channel: r.channel,
    direction: r.direction,
    subject: r.subject,
  }));
  const matches = await shop.sql<{ i: number; interactionId: string | null; customerId: string | null }>((s) =>
    interactionMatchSql(s, JSON.stringify(keys)),
  );
  const byIndex = new Map(matches.map((m) => [m.i, m]));
  const rows: (InteractionRecord & { id: string; existing: boolean; customerId: string })[] = [];
  const claimed = new Map<string, number>();
  recs.forEach((rec, i) => {
    const m = byIndex.get(i);
    if (!m?.customerId) {
      const c = rec.customer;
      const [field, value] = c.externalId
        ? ['customerExternalId', c.externalId]
        : c.email
          ? ['customerEmail', c.email]
          : ['customerPhone', c.phone];
      ctx.reject(rec.line, [{ field, reason: 'No customer with this identifier (import the customers first)', value }]);
      return;
    }
    // Two lines of one batch matching the same stored interaction without an id: the second is new.
    const earlier = m.interactionId ? claimed.get(m.interactionId) : undefined;
    const existing = !!m.interactionId && earlier == null;
    if (m.interactionId && existing) claimed.set(m.interactionId, rec.line);
    rows.push({ ...rec, id: existing ? (m.interactionId as string) : randomUUID(), existing, customerId: m.customerId });
  });
  const results = await ctx.writeSafely(rows, async (t, part) => {
    const json = JSON.stringify(
      part.map((r, i) => ({
        i,
        id: r.id,
        new: !r.existing,
        externalId: r.externalId,
        customerId: r.customerId,
        type: r.type,
        channel: r.channel,
        direction: r.direction,
        occurredAt: r.occurredAt,
        subject: r.subject,
        body: r.body,
        sentiment: r.sentiment,
      })),
    );
    const written = await t.writeRows<{ shopId: string; id: string | null; customerId: string | null; kind: string }>((s) =>
      interactionWriteSql(s, json, ctx.job.rowEvents),
    );
    return { part, written };
  });
  for (const { part, written } of results) {
    const c = written.filter((w) => w.kind === 'c').length;
    const u = written.filter((w) => w.kind === 'u').length;
    ctx.counts.created += c;
    ctx.counts.updated += u;
    ctx.counts.unchanged += part.filter((r) => r.existing).length - u;
    for (const w of written) if (w.customerId) ctx.touched.add(w.customerId);
  }
}

/**
 * Derived state, set-based, once: loyalty metrics (full), the lifecycle ladder for the customers
 * touched (for more than 10,000 of them: the whole shop), and saved segments.
 */
async function recompute(shop: ShopBound, ids: string[], rowEvents: boolean) {
  // Per-row events only where asked (rowEvents): without, the import's own customers stay quiet
  // (common/quiet.ts; an import of old orders would otherwise emit one CHURN_RISK_RAISED per
  // dormant customer: 78,889 of 100,000 in the bench), while a customer the import did not touch,
  // moved by the same shop-wide pass, is announced as by any other pass.
  const quiet = rowEvents ? undefined : ids;
  await recomputeLoyalty(shop, undefined, { quiet });
  const s = await getLifecycleSettings(shop.db);
  // Many customers touched: one pass over the whole shop (what the periodic ladder pass does) is
  // cheaper than 10,000-id slices (measured 100k customers + 200k orders: 15 s instead of 26 s).
  const scope = ids.length > 10_000 ? ({ kind: 'shop' } as const) : ({ kind: 'customers', ids } as const);
  await shop.transaction((t) => applyLifecycle(t.write, scope, s, new Date(), { quiet }), { timeout: 300_000, maxWait: 60_000 });
  const segments = await shop.db.segment.findMany({ select: { id: true } });
  const quietSet = quiet && new Set(quiet);
  for (const seg of segments) {
    await refreshSegment(shop, seg.id, { emit: true, quiet: quietSet, onlyCustomers: ids.length <= 10_000 ? ids : null });
  }
}

async function finishJob(shop: ShopBound, job: ImportJob, status: 'COMPLETED' | 'FAILED', counts: Counts, error: string | null) {
  await shop.transaction(async (t) => {
    await t.db.importJob.update({
      where: { id: job.id },
      data: { ...counts, ...(status === 'COMPLETED' ? { bytesRead: job.bytes } : {}), status, error, finishedAt: new Date() },
    });
    await t.db.importChunk.deleteMany({ where: { jobId: job.id } });
    if (!job.dryRun) {
      await emitEvent(t.db, {
        type: 'IMPORT_COMPLETED',
        payload: {
          importId: importGid(job.id),
          kind: job.kind,
          mapping: job.mapping,
          status,
          ...counts,
        },
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Report, retention, erasure

export type RejectionRow = { id: bigint; line: number; field: string; reason: string; value: string | null };

/**
 * Rejected rows of a job in line order (rows are stored as they are rejected: a batch-time reason
 * such as an unknown customer comes after the validation reasons of later lines), keyset-paged by
 * (line, id).
 */
export function rejectionsOf(
  db: ScopedDb,
  jobId: string,
  after: { line: number; id: bigint } | null,
  take: number,
): Promise<RejectionRow[]> {
  return db.importRejection.findMany({
    where: {
      jobId,
      // `line >= after.line` repeats what the OR implies: Prisma sends the OR as a filter only, and
      // this bound lets PostgreSQL start the (jobId, line, id) index at the page instead of reading
      // every earlier rejection again for each page (quadratic over a big report).
      ...(after ? { line: { gte: after.line }, OR: [{ line: { gt: after.line } }, { line: after.line, id: { gt: after.id } }] } : {}),
    },
    orderBy: [{ line: 'asc' }, { id: 'asc' }],
    take,
    select: { id: true, line: true, field: true, reason: true, value: true },
  });
}

const csvCell = (v: string | number | null) => {
  const s = v == null ? '' : String(v);
  // Cells starting like a formula are quoted with a leading apostrophe (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/** The report as CSV text, streamed page by page. */
export function rejectionsCsv(db: ScopedDb, jobId: string): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  let after: { line: number; id: bigint } | null = null;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(enc.encode('line,field,reason,value\n'));
        return;
      }
      const page = await rejectionsOf(db, jobId, after, 2000);
      if (!page.length) return controller.close();
      const last = page.at(-1);
      after = last ? { line: last.line, id: last.id } : null;
      controller.enqueue(enc.encode(`${page.map((r) => [r.line, r.field, r.reason, r.value].map(csvCell).join(',')).join('\n')}\n`));
    },
  });
}

/**
 * Retention for one shop: reports of imports ended more than `reportRetentionDays` ago, uploads
 * never started after `uploadTtlHours`, and jobs left RUNNING by a stopped process (no progress
 * for 15 minutes: FAILED, their upload deleted).
 */
export async function pruneImports(db: ScopedDb, opts: ImportOptions, now = new Date()) {
  const reportCutoff = new Date(now.getTime() - opts.reportRetentionDays * 86_400_000);
  const stale = await db.importJob.findMany({
    where: { status: 'RUNNING', updatedAt: { lt: new Date(now.getTime() - 15 * 60_000) } },
    select: { id: true },
  });
  for (const j of stale) {
    if (running.has(j.id)) continue;
    await db.importJob.update({
      where: { id: j.id },
      data: { status: 'FAILED', error: 'Interrupted (the server stopped); a re-run is safe', finishedAt: now },
    });
    await db.importChunk.deleteMany({ where: { jobId: j.id } });
  }
  const old = await db.importJob.findMany({ where: { finishedAt: { lt: reportCutoff } }, select: { id: true } });
  const reports = old.length ? (await db.importRejection.deleteMany({ where: { jobId: { in: old.map((j) => j.id) } } })).count : 0;
  const uploads = (
    await db.importJob.deleteMany({
      where: { status: 'UPLOADED', createdAt: { lt: new Date(now.getTime() - opts.uploadTtlHours * 3_600_000) } },
    })
  ).count;
  return { reports, uploads, interrupted: stale.length };
}

/** Erasure: rejected-row report lines holding one of the person's identifiers go (they name no customer id). */
export const eraseImportRejections: EraseStep = async (t, _customerId, erasure) => {
  const ids = erasure.identifiers.filter((i) => i.length >= 3);
  if (!ids.length) return;
  await t.importRejection.deleteMany({ where: { OR: ids.map((i) => ({ value: { contains: i, mode: 'insensitive' as const } })) } });
};

/** The retention pass over every shop (RETENTION_INTERVAL_MS); `tick()` drives it by hand. */
export function createImportRetentionScheduler(opts: { prisma: PrismaClient; logger: Logger; intervalMs: number; imports: ImportOptions }) {
  async function tick(now = new Date()) {
    const total = { reports: 0, uploads: 0, interrupted: 0 };
    const shops = await opts.prisma.importJob.findMany({ distinct: ['shopId'], select: { shopId: true } });
    for (const { shopId } of shops) {
      try {
        const r = await pruneImports(forShop(opts.prisma, shopId), opts.imports, now);
        total.reports += r.reports;
        total.uploads += r.uploads;
        total.interrupted += r.interrupted;
      } catch (err) {
        opts.logger.error('import retention failed', { shopId, error: String(err) });
      }
    }
    if (total.reports || total.uploads || total.interrupted) opts.logger.info('import retention', total);
    return total;
  }
  return { tick, ...periodic({ name: 'import-retention', intervalMs: opts.intervalMs, logger: opts.logger }, () => tick()) };
}
