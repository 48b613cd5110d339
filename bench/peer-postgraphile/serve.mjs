/**
 * The peer of the read benchmark: PostGraphile v5 with its stock (amber) preset serving the bench
 * database, in a process of its own (bench/peer-harness.ts spawns it and reads its CPU time).
 * Usage: node serve.mjs <database url> <pool size>; prints "LISTENING <url>" once it serves and
 * answers the IPC message "cpu" with process.cpuUsage().
 */
// PostGraphile v5 uses Promise.withResolvers (Node >= 22); polyfilled here, in the peer's process only.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const { createServer } = await import('node:http');
const { default: pg } = await import('pg');
const { postgraphile } = await import('postgraphile');
const { PostGraphileAmberPreset } = await import('postgraphile/presets/amber');
const { makePgService } = await import('postgraphile/adaptors/pg');
const { grafserv } = await import('postgraphile/grafserv/node');

const [url, poolSize = '10'] = process.argv.slice(2);
if (!url) throw new Error('usage: node serve.mjs <database url> [pool size]');
const pool = new pg.Pool({ connectionString: url, max: Number(poolSize) });
pool.on('error', () => {});

const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  // The stock preset hides relations whose foreign key has no index of exactly its columns; the
  // tenant foreign keys are composite (shopId, customerId) and PostgreSQL serves them from the
  // (customerId, ...) indexes, so without this the peer could not select tags and consents at all.
  disablePlugins: ['PgIndexBehaviorsPlugin'],
  pgServices: [makePgService({ pool, schemas: ['public'] })],
  grafserv: { graphqlPath: '/graphql', graphiql: false, watch: false },
  grafast: { explain: false },
});
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on('error', (e) => {
  console.error(e);
  process.exit(1);
});
serv.addTo(server);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(`LISTENING http://127.0.0.1:${port}/graphql`);
});
const stop = async () => {
  server.close();
  server.closeAllConnections?.();
  await pgl.release().catch(() => {});
  await pool.end().catch(() => {});
  process.exit(0);
};
process.on('message', (m) => {
  if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
});
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
