import { writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { openDatabase } from '../../db/database.ts';
import { shopBound } from '../../db/shop-bound.ts';
import type { Logger } from '../../logger.ts';
import {
  type FromWorker,
  runImportJob,
  stopImport,
  type ToWorker,
  WORKER_DATA_ENV,
  type WorkerData,
  type WorkerJob,
} from './import.service.ts';

/**
 * An import worker process (import.service.ts `spawnWorker`, in a session of its own): its own
 * database client (two connections) and heap, opened once; it runs the imports it is sent one at a
 * time with the same `runImportJob` as the API's thread, and answers each with `{ done }`. Between
 * imports it waits (the API keeps one warm for the next import) until told to close. Log lines go
 * back to the API's logger over the IPC channel (its level, redaction and destination); `{ stop:
 * jobId }` ends that job after its current batch, as a shutdown does in the API's thread. When the
 * API is gone (the channel closed: it ended or was killed), the job in hand stops after its current
 * batch and the process ends: no import outlives its API.
 */
const send = process.send?.bind(process) ?? fail('import.worker.ts runs as a child process with an IPC channel');
const raw = process.env[WORKER_DATA_ENV] ?? fail(`import.worker.ts needs ${WORKER_DATA_ENV}`);
const data = JSON.parse(raw) as WorkerData;
// Not handed down further (it names the database), nor left in this process's environment.
delete process.env[WORKER_DATA_ENV];

// An import is background work: below the API's CPU priority, so a shared machine serves requests
// first (measured in the bench: the other shop's read p99 during an import 1.5x idle at nice 10,
// 1.7-2.0x without). Linux schedules by session first (autogroup): this session's nice covers
// every thread of this process, the garbage collector's helpers too. Where sessions are not
// grouped (a container's or a service's cgroup), the main thread's own nice is what lowers it:
// its parsing is most of this process's CPU. Raising a nice needs no privilege; either may be
// refused (another OS, a locked-down /proc), and the import then runs at the API's priority.
function lowerPriority(nice: number) {
  if (nice <= 0) return;
  try {
    writeFileSync('/proc/self/autogroup', String(nice));
  } catch {}
  try {
    setPriority(nice);
  } catch {}
}
lowerPriority(data.nice);
function fail(msg: string): never {
  throw new Error(msg);
}
const post = (m: FromWorker) => {
  if (process.connected) send(m, undefined, {}, () => undefined);
};
const log =
  (level: 'debug' | 'info' | 'warn' | 'error') =>
  (msg: string, fields?: Record<string, unknown>): void => {
    try {
      post({ log: [level, msg, fields] });
    } catch {
      post({ log: [level, msg, undefined] });
    }
  };
const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };

const running = new Set<string>();
// Messages that arrive while the client opens wait on this queue.
let queue: Promise<unknown> = openDatabase({
  ...data.reopen,
  migrate: false,
  poolSize: 2,
  // Told apart in pg_stat_activity from the instance's pool.
  ...(data.reopen.applicationName ? { applicationName: `${data.reopen.applicationName}-import` } : {}),
  onPoolError: (err) => logger.warn('import worker: database connection lost', { error: err.message }),
});
const database = queue as ReturnType<typeof openDatabase>;
// A client that cannot open fails each job already sent (FAILED by the API), then this process ends.
database.catch((e) => {
  logger.error('import worker failed', { error: String((e as Error)?.stack ?? e).slice(0, 2000) });
  process.exitCode = 1;
  queue = queue.then(close, close);
});

async function run(r: WorkerJob) {
  running.add(r.jobId);
  try {
    const db = await database;
    const shop = shopBound(db.prisma, r.shopId, db);
    const job = await shop.db.importJob.findFirst({ where: { id: r.jobId } });
    if (job?.status === 'RUNNING') await runImportJob(shop, job, r.starter, r.opts, logger);
  } catch (e) {
    logger.error('import worker failed', { importId: r.jobId, error: String((e as Error)?.stack ?? e).slice(0, 2000) });
  } finally {
    running.delete(r.jobId);
    post({ done: r.jobId });
  }
}

let closed = false;
async function close() {
  if (closed) return;
  closed = true;
  await (await database.catch(() => null))?.close();
  if (process.connected) process.disconnect();
  // Nothing should be left to keep it alive; if something is, it still ends.
  setTimeout(() => process.exit(), 5000).unref();
}

process.on('message', (m: ToWorker) => {
  if ('stop' in m) stopImport(m.stop);
  else if ('run' in m)
    queue = queue.then(
      () => run(m.run),
      () => run(m.run),
    );
  else if ('close' in m) queue = queue.then(close, close);
});
process.on('disconnect', () => {
  for (const id of running) stopImport(id);
  queue = queue.then(close, close);
});
