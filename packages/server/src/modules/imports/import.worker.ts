import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../db/database.ts';
import { shopBound } from '../../db/shop-bound.ts';
import type { Logger } from '../../logger.ts';
import { type FromWorker, runImportJob, stopImport, type ToWorker, type WorkerData, type WorkerJob } from './import.service.ts';

/**
 * An import worker thread (import.service.ts `runInWorker`): its own database client (two
 * connections) and heap, opened once; it runs the imports it is sent one at a time with the same
 * `runImportJob` as the API's thread, and answers each with `{ done }`. Between imports it waits
 * (the API keeps one warm for the next import) until told to close. Log lines go back to the API's
 * logger (its level, redaction and destination); `{ stop: jobId }` ends that job after its current
 * batch, as a shutdown does in the API's thread.
 */
const data = workerData as WorkerData;
const port = parentPort ?? fail('import.worker.ts runs as a worker thread');
function fail(msg: string): never {
  throw new Error(msg);
}
const post =
  (level: 'debug' | 'info' | 'warn' | 'error') =>
  (msg: string, fields?: Record<string, unknown>): void => {
    try {
      port.postMessage({ log: [level, msg, fields] } satisfies FromWorker);
    } catch {
      port.postMessage({ log: [level, msg, undefined] } satisfies FromWorker);
    }
  };
const logger: Logger = { debug: post('debug'), info: post('info'), warn: post('warn'), error: post('error') };

const database = await openDatabase({
  ...data.reopen,
  migrate: false,
  poolSize: 2,
  // Told apart in pg_stat_activity from the instance's pool.
  ...(data.reopen.applicationName ? { applicationName: `${data.reopen.applicationName}-import` } : {}),
  onPoolError: (err) => logger.warn('import worker: database connection lost', { error: err.message }),
});

async function run(r: WorkerJob) {
  try {
    const shop = shopBound(database.prisma, r.shopId, database);
    const job = await shop.db.importJob.findFirst({ where: { id: r.jobId } });
    if (job?.status === 'RUNNING') await runImportJob(shop, job, r.starter, r.opts, logger);
  } catch (e) {
    logger.error('import worker failed', { importId: r.jobId, error: String((e as Error)?.stack ?? e).slice(0, 2000) });
  } finally {
    port.postMessage({ done: r.jobId } satisfies FromWorker);
  }
}

// Messages sent while the client was opening waited in the port's queue until now.
let queue = Promise.resolve();
port.on('message', (m: ToWorker) => {
  if ('stop' in m) stopImport(m.stop);
  else if ('run' in m) queue = queue.then(() => run(m.run));
  else if ('close' in m) {
    queue = queue.then(async () => {
      await database.close();
      port.close();
    });
  }
});
