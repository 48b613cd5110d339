import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type App, buildApp } from './app.ts';
import { type Config, loadConfig } from './config.ts';
import { type Database, openDatabase } from './db/database.ts';
import { createLogger } from './logger.ts';
import { type CreatedShop, createShop } from './modules/shops/shop.service.ts';

/**
 * Test helpers: a real database per test file (a fresh PostgreSQL database when TEST_DB=postgres,
 * an in-memory PGlite otherwise), an app on it, and a GraphQL caller that goes through Yoga's
 * full HTTP handling in-process.
 */
export const testBackend = (): 'postgres' | 'pglite' => (process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite');
export const adminUrl = () => process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export type TestDatabase = Database & { url?: string };

export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (testBackend() === 'pglite') return openDatabase({ dataDir: 'memory://', migrate: opts.migrate });
  const name = `crm_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  const db = await openDatabase({ url: u.toString(), migrate: opts.migrate, poolSize: 5 });
  return {
    ...db,
    url: u.toString(),
    close: async () => {
      await db.close();
      const a = new pg.Client({ connectionString: adminUrl() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}

export type GqlResult<T = Record<string, unknown>> = {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
};

export type Caller = <T = Record<string, unknown>>(
  query: string,
  variables?: Record<string, unknown>,
  headers?: Record<string, string>,
) => Promise<GqlResult<T>>;

export type TestApp = {
  app: App;
  db: TestDatabase;
  config: Config;
  /** Calls /graphql in-process with the given key (or none). */
  gql(key: string | null): Caller;
  newShop(name?: string, ownerEmail?: string): Promise<CreatedShop>;
  close(): Promise<void>;
};

/**
 * `opts.logLines`: when given, the app logs at debug level into this array (tests that check the
 * logs hold no personal data); otherwise it logs nothing.
 */
export async function createTestApp(overrides: Partial<Config> = {}, opts: { logLines?: string[] } = {}): Promise<TestApp> {
  const db = await createTestDatabase();
  // The webhook dispatcher is off unless a test turns it on (or drives it with app.webhooks.tick()).
  const config = {
    ...loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      LOG_LEVEL: 'silent',
      WEBHOOKS: '0',
      LEAD_POOL_INTERVAL_MS: '0',
      RETENTION_FOLLOW_UPS_INTERVAL_MS: '0',
      FOLLOW_UP_DUE_INTERVAL_MS: '0',
      ABANDONED_CHECKOUT_INTERVAL_MS: '0',
      RETENTION_INTERVAL_MS: '0',
      LOYALTY_INTERVAL_MS: '0',
      LIFECYCLE_INTERVAL_MS: '0',
      // Suites send many large queries with one key: the cost budget and the anonymous limit are
      // far above that here; the edge tests (tests/edge-limits.test.ts) set their own.
      COST_BUCKET_SIZE: '1000000000',
      RATE_LIMIT_ANONYMOUS_PER_IP: '1000000000',
      // Tests seed rows behind the API's back (SQL, services) and count right after: exact counts
      // unless a test turns the count cache on (tests/read-caches.test.ts).
      COUNT_CACHE_MS: '0',
    }),
    // TEST_RESPONSE_CACHE_MS: a suite re-run with the response cache on (tests/tenant-isolation.cached.test.ts).
    ...(process.env.TEST_RESPONSE_CACHE_MS
      ? { caches: { apiKeyMs: 30_000, countMs: 0, responseMs: Number(process.env.TEST_RESPONSE_CACHE_MS) } }
      : {}),
    // Saved segments are refreshed by the tests themselves (app.segments.tick()).
    segments: { intervalMs: 0, fullRefreshMs: 3_600_000 },
    ...overrides,
  };
  const app = buildApp({
    config,
    database: db,
    logger: opts.logLines ? createLogger('debug', (l) => opts.logLines?.push(l)) : createLogger('silent'),
    tokenSecret: randomBytes(32).toString('hex'),
  });
  let n = 0;
  return {
    app,
    db,
    config,
    gql:
      (key) =>
      async (query, variables, headers = {}) => {
        const res = await app.yoga.fetch('http://test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await res.json()) as GqlResult;
        return { ...body, status: res.status } as never;
      },
    newShop: (name, ownerEmail) => createShop(db.prisma, { name: name ?? `Shop ${++n} ${randomBytes(3).toString('hex')}`, ownerEmail }),
    close: async () => {
      await app.stop();
      await db.close();
    },
  };
}

/** Decodes a Relay global id to its row id. */
export const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1] as string;
export const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

/**
 * EXPLAIN of a statement with its parameters, as plan tests read it. Sequential and bitmap scans
 * are off: on a test's tiny tables the planner rightly prefers them, and the tests check that an
 * index can give the order.
 */
export const planOf = (db: TestDatabase, text: string, params: unknown[]) =>
  db.prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
    await tx.$executeRawUnsafe('SET LOCAL enable_bitmapscan = off');
    const rows = await tx.$queryRawUnsafe<Record<string, string>[]>(`EXPLAIN ${text}`, ...params);
    return rows.map((r) => Object.values(r)[0]).join('\n');
  });

/**
 * Observes the statements Prisma sends (the client is opened with query events on,
 * db/database.ts; its exported type does not say so) until the returned function is called.
 */
export function onPrismaQuery(db: TestDatabase, seen: (query: string, params: unknown[]) => void): () => void {
  let on = true;
  const events = db.prisma as unknown as { $on(ev: 'query', cb: (e: { query: string; params: string }) => void): void };
  events.$on('query', (e) => {
    if (on) seen(e.query, JSON.parse(e.params) as unknown[]);
  });
  return () => {
    on = false;
  };
}
