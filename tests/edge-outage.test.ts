import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../packages/server/src/app.ts';
import { compiledReadStats } from '../packages/server/src/compiled/plugin.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { type Database, openDatabase } from '../packages/server/src/db/database.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { createShop } from '../packages/server/src/modules/shops/shop.service.ts';
import { createTestDatabase, type TestDatabase, testBackend } from '../packages/server/src/testing.ts';

/**
 * The database becomes unreachable: clients get HTTP 503 UNAVAILABLE with Retry-After (retryable),
 * not 200 INTERNAL, and the log gets one line for the outage, not one stack trace per request.
 * The outage is our own TCP proxy in front of the test database going away (never the shared server).
 */
function tcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<number>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve(port);
      });
    });
  return {
    start: listen,
    /** Stops listening and cuts every open connection. */
    cut: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        sockets.clear();
        server?.close(() => resolve());
      }),
  };
}

describe.skipIf(testBackend() !== 'postgres')('database outage (PostgreSQL behind a proxy we own)', () => {
  let direct: TestDatabase;
  let viaProxy: Database;
  let proxy: ReturnType<typeof tcpProxy>;
  const lines: Record<string, unknown>[] = [];
  let app: ReturnType<typeof buildApp>;
  let secretKey: string;

  beforeAll(async () => {
    direct = await createTestDatabase();
    const target = new URL(direct.url!);
    proxy = tcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const port = await proxy.start();
    const u = new URL(direct.url!);
    u.port = String(port);
    viaProxy = await openDatabase({ url: u.toString(), migrate: false, poolSize: 3, onPoolError: () => {} });
    const config = {
      ...loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', WEBHOOKS: '0', COUNT_CACHE_MS: '0' }),
      unavailableRetryAfterSeconds: 7,
    };
    const logger = createLogger('info', (l) => lines.push(JSON.parse(l)));
    app = buildApp({ config, database: viaProxy, logger, tokenSecret: randomBytes(32).toString('hex') });
    secretKey = (await createShop(direct.prisma, { name: 'Outage' })).secretKey;
  });
  afterAll(async () => {
    await app?.stop();
    await viaProxy?.close().catch(() => {});
    await proxy?.cut();
    await direct?.close();
  });

  const ask = () =>
    app.yoga.fetch('http://test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secretKey}` },
      body: JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' }),
    });

  it('answers 503 UNAVAILABLE with Retry-After during the outage, logs it once, and recovers', async () => {
    expect((await ask()).status).toBe(200);
    await proxy.cut();
    const before = { ...compiledReadStats };
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await ask();
      seen.push(res.status);
      const body = (await res.json()) as { errors?: { extensions?: { code?: string; retryAfterSeconds?: number } }[] };
      expect(res.status, JSON.stringify(body)).toBe(503);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', retryAfterSeconds: 7 });
    }
    // The compiled read reports the outage itself: the executor does not run the query a second time (and wait as long again).
    expect(compiledReadStats.compiled - before.compiled).toBe(20);
    expect(compiledReadStats.executor - before.executor).toBe(0);
    expect(lines.filter((l) => l.msg === 'database unavailable')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'unexpected error')).toHaveLength(0);
    await proxy.start(); // same port: the pool reconnects
    let back = 0;
    for (let i = 0; i < 20 && back !== 200; i++) {
      back = (await ask()).status;
      if (back !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(back).toBe(200);
  });
});
