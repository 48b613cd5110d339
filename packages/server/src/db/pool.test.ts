import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { UnavailableError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { createShop } from '../modules/shops/shop.service.ts';
import { adminUrl, createTestDatabase, type TestDatabase, testBackend } from '../testing.ts';
import { busyDatabaseError, type Database, openDatabase } from './database.ts';

/**
 * Pools you size (DB_POOL_SIZE, DB_CONNECT_TIMEOUT_MS, DB_STATEMENT_TIMEOUT_MS, DB_TX_MAX_WAIT_MS,
 * DB_APPLICATION_NAME): the limits hold, every connection is findable by its instance's
 * application_name, and a database too busy to start a transaction answers UNAVAILABLE (503,
 * Retry-After), never INTERNAL, with nothing written.
 */
const postgres = testBackend() === 'postgres';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let base: TestDatabase;
beforeAll(async () => {
  base = await createTestDatabase();
});
afterAll(() => base.close());

// Both suites are skipped on PGlite: pg_stat_activity and a pool to exhaust need PostgreSQL
// (PGlite is one embedded session).
describe.skipIf(!postgres)('connections per instance (pg_stat_activity by application_name)', () => {
  it('each instance opens at most DB_POOL_SIZE connections (+1 for LISTEN), all carrying its application_name', async () => {
    const tag = randomBytes(3).toString('hex');
    const names = { a: `crm-test-${tag}-a`, b: `crm-test-${tag}-b` };
    const a = await openDatabase({ url: base.url, migrate: false, poolSize: 3, applicationName: names.a });
    const b = await openDatabase({ url: base.url, migrate: false, poolSize: 2, applicationName: names.b });
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    const counts = async () => {
      const r = await admin.query<{ application_name: string; n: number }>(
        'SELECT application_name, count(*)::int AS n FROM pg_stat_activity WHERE application_name = ANY($1) GROUP BY 1',
        [[names.a, names.b]],
      );
      return Object.fromEntries(r.rows.map((x) => [x.application_name, x.n])) as Record<string, number>;
    };
    try {
      const unlisten = await a.listen(`h20_${tag}`, () => {});
      const max = { a: 0, b: 0 };
      const load = (db: Database) => Promise.all(Array.from({ length: 12 }, () => db.prisma.$queryRaw`SELECT 1 AS x FROM pg_sleep(0.15)`));
      let done = false;
      const work = Promise.all([load(a), load(b)]).finally(() => {
        done = true;
      });
      while (!done) {
        const c = await counts();
        max.a = Math.max(max.a, c[names.a] ?? 0);
        max.b = Math.max(max.b, c[names.b] ?? 0);
        await sleep(20);
      }
      await work;
      // The pool fills up to its size under load and never beyond; the LISTEN connection is the +1.
      expect(max).toEqual({ a: 3 + 1, b: 2 });
      await unlisten();
    } finally {
      await admin.end();
      await a.close();
      await b.close();
    }
  });

  it('DB_STATEMENT_TIMEOUT_MS cancels a statement that runs too long', async () => {
    const db = await openDatabase({ url: base.url, migrate: false, poolSize: 1, statementTimeoutMs: 200 });
    try {
      const started = Date.now();
      await expect(db.prisma.$queryRaw`SELECT 1 AS x FROM pg_sleep(3)`).rejects.toThrow(/statement timeout/);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(await db.prisma.$queryRaw`SELECT 1 AS x`).toEqual([{ x: 1 }]);
    } finally {
      await db.close();
    }
  });
});

// PostgreSQL only: PGlite is one embedded session whose queries queue behind an open transaction without a timeout.
describe.skipIf(!postgres)('a database too busy to start a transaction', () => {
  it('answers UNAVAILABLE with HTTP 503 and Retry-After (not INTERNAL), and writes nothing', async () => {
    // One connection, held by a long transaction; a request whose transaction cannot start within
    // DB_TX_MAX_WAIT_MS (its API-key lookup waits for a free connection up to DB_CONNECT_TIMEOUT_MS).
    const db = await openDatabase({ url: base.url, migrate: false, poolSize: 1, txMaxWaitMs: 200, connectTimeoutMs: 400 });
    const config = loadConfig({ NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'silent', WEBHOOKS: '0', LEAD_POOL_INTERVAL_MS: '0' });
    const app = buildApp({ config, database: db, logger: createLogger('silent'), tokenSecret: randomBytes(32).toString('hex') });
    try {
      const shop = await createShop(db.prisma, { name: `Busy ${randomBytes(3).toString('hex')}` });
      const post = (query: string, variables?: Record<string, unknown>) =>
        app.yoga.fetch('http://test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${shop.secretKey}` },
          body: JSON.stringify({ query, variables }),
        });
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let holding!: () => void;
      const isHolding = new Promise<void>((r) => {
        holding = r;
      });
      const hold = db.prisma.$transaction(
        async (tx) => {
          await tx.$queryRaw`SELECT 1 AS x`;
          holding();
          await held;
        },
        { timeout: 30_000, maxWait: 5_000 },
      );
      await isHolding;
      // Prisma's own error for it is P2028 "Unable to start a transaction in the given time".
      const p2028 = await db.prisma.$transaction(async (tx) => tx.customer.count()).catch((e: unknown) => e);
      expect((p2028 as { code?: string }).code).toBe('P2028');
      expect(busyDatabaseError(p2028)).toBeInstanceOf(UnavailableError);
      // A plain query finds no free connection within DB_CONNECT_TIMEOUT_MS: the same.
      expect(busyDatabaseError(await db.prisma.customer.count().catch((e: unknown) => e))).toBeInstanceOf(UnavailableError);
      const res = await post('mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename } }', {
        i: { email: 'busy@example.com' },
      });
      const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string; retryAfterSeconds?: number } }[] };
      release();
      await hold;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
      expect(body.errors?.[0]?.extensions?.retryAfterSeconds).toBe(1);
      expect(body.errors?.[0]?.message).toMatch(/busy.*retry/);
      expect(await db.prisma.customer.count({ where: { shopId: shop.shop.id } })).toBe(0);
      // Once the connection is free the same request goes through.
      const ok = await post('mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename } }', {
        i: { email: 'busy@example.com' },
      });
      expect(((await ok.json()) as { data?: { createCustomer?: { __typename: string } } }).data?.createCustomer?.__typename).toBe(
        'CreateCustomerSuccess',
      );
    } finally {
      await app.stop();
      await db.close();
    }
  });
});

// PGlite: one embedded session without the driver's named statements.
describe.skipIf(!postgres)('compiled reads as named prepared statements (DB_PREPARED_STATEMENTS)', () => {
  const prepared = async (db: Database) =>
    (await db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'crm%'`))[0]?.n;

  it('a statement text is prepared once per connection and its plan reused; off with DB_PREPARED_STATEMENTS=0', async () => {
    // One connection, so the catalogue read below sees that connection's statements.
    const on = await openDatabase({ url: base.url, migrate: false, poolSize: 1 });
    const off = await openDatabase({ url: base.url, migrate: false, poolSize: 1, preparedStatements: false });
    try {
      for (const db of [on, off]) {
        for (const v of [1, 2, 3]) expect(await db.driverQuery<{ x: number }>('SELECT $1::int AS x', [v])).toEqual([{ x: v }]);
        expect(await db.driverQuery<{ y: string }>('SELECT $1::text AS y', ['a'])).toEqual([{ y: 'a' }]);
      }
      expect(await prepared(on)).toBe(2);
      expect(await prepared(off)).toBe(0);
    } finally {
      await on.close();
      await off.close();
    }
  });

  it('a table changed under a prepared plan (a migration while serving) is read again, not an error', async () => {
    const table = `prep_${randomBytes(4).toString('hex')}`;
    const db = await openDatabase({ url: base.url, migrate: false, poolSize: 1 });
    try {
      await db.sql.exec(`CREATE TABLE ${table} (a int); INSERT INTO ${table} VALUES (1)`);
      expect(await db.driverQuery(`SELECT * FROM ${table}`, [])).toEqual([{ a: 1 }]);
      await db.sql.exec(`ALTER TABLE ${table} ADD COLUMN b int DEFAULT 2`);
      // PostgreSQL refuses the old plan ("cached plan must not change result type"): run again unnamed.
      expect(await db.driverQuery(`SELECT * FROM ${table}`, [])).toEqual([{ a: 1, b: 2 }]);
      // And later runs get a fresh name.
      expect(await db.driverQuery(`SELECT * FROM ${table}`, [])).toEqual([{ a: 1, b: 2 }]);
    } finally {
      await db.sql.exec(`DROP TABLE IF EXISTS ${table}`);
      await db.close();
    }
  });
});
