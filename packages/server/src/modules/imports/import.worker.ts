import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../db/database.ts';
import { shopBound } from '../../db/shop-bound.ts';
import type { Logger } from '../../logger.ts';
import { runImportJob, stopImport, type WorkerData, type WorkerLog } from './import.service.ts';

/**
 * The worker thread of one big import (import.service.ts `runInWorker`): its own database client
 * (two connections) and heap, the same `runImportJob` as in the API's thread. Log lines go back to
 * the API's logger (its level, redaction and destination); a `{ stop: true }` message ends the job
 * after its current batch, as a shutdown does in the API's thread.
 */
const data = workerData as WorkerData;
const post =
  (level: WorkerLog['log'][0]) =>
  (msg: string, fields?: Record<string, unknown>): void => {
    try {
      parentPort?.postMessage({ log: [level, msg, fields] } satisfies WorkerLog);
    } catch {
      parentPort?.postMessage({ log: [level, msg, undefined] } satisfies WorkerLog);
    }
  };
const logger: Logger = { debug: post('debug'), info: post('info'), warn: post('warn'), error: post('error') };
parentPort?.on('message', (m: { stop?: boolean }) => {
  if (m?.stop) stopImport(data.jobId);
});
// The port alone does not keep this thread alive: it ends when the job and its client are done.
parentPort?.unref();

const database = await openDatabase({
  ...data.reopen,
  migrate: false,
  poolSize: 2,
  // Told apart in pg_stat_activity from the instance's pool.
  ...(data.reopen.applicationName ? { applicationName: `${data.reopen.applicationName}-import` } : {}),
  onPoolError: (err) => logger.warn('import worker: database connection lost', { importId: data.jobId, error: err.message }),
});
try {
  const shop = shopBound(database.prisma, data.shopId);
  const job = await shop.db.importJob.findFirst({ where: { id: data.jobId } });
  if (job?.status === 'RUNNING') await runImportJob(shop, job, data.starter, data.opts, logger);
} finally {
  await database.close();
}
