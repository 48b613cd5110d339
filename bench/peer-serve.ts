/**
 * A target of the peer comparison in a process of its own, so that its CPU time is its own:
 *   node --import tsx peer-serve.ts api <database url> <pool size>
 *   node --import tsx peer-serve.ts raw <database url> <pool size> <shop id>
 * Prints "LISTENING <url>" once it serves; answers the IPC message "cpu" with process.cpuUsage().
 * The database is migrated and seeded by peer-harness.ts beforehand.
 */
import type { Database } from '../packages/server/src/db/database.ts';
import { openDatabase } from '../packages/server/src/db/database.ts';
import { serveRaw, startApi, type Target } from './harness.ts';
import { answerRaw } from './peer-queries.ts';

const [kind, url, poolSize = '10', shopId = ''] = process.argv.slice(2);
if ((kind !== 'api' && kind !== 'raw') || !url) throw new Error('usage: peer-serve.ts api|raw <database url> [pool size] [shop id]');

let db: Database | null = null;
let target: Target;
if (kind === 'api') {
  db = await openDatabase({ url, poolSize: Number(poolSize), migrate: false });
  // The read caches' settings pass through (peer.bench.ts sets RESPONSE_CACHE_MS for the cache-on run).
  const env = Object.fromEntries(
    ['API_KEY_CACHE_MS', 'COUNT_CACHE_MS', 'RESPONSE_CACHE_MS'].flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])),
  );
  target = await startApi(db, env);
} else {
  target = await serveRaw({ url, db: null as unknown as Database }, Number(poolSize), (body, runner) => answerRaw(body, runner, shopId));
}
process.on('message', (m) => {
  if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});
const stop = async () => {
  await target.stop().catch(() => {});
  await db?.close().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());
console.log(`LISTENING ${target.url}`);
