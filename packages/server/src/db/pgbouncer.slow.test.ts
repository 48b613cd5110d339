import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CreatedShop, createShop } from '../modules/shops/shop.service.ts';
import { adminUrl, createTestDatabase, type TestDatabase, testBackend } from '../testing.ts';
import {
  findRedis,
  gqlPost,
  type Instance,
  MAIN,
  MIGRATE_CLI,
  type PgBouncer,
  pgbouncerBinary,
  runToExit,
  type Sub,
  sleep,
  startInstance,
  startPgBouncer,
  subscribe,
  waitFor,
} from '../testing-processes.ts';
import { openDatabase } from './database.ts';
import { MIGRATION_LOCK_ID, readMigrations } from './migrate.ts';

/**
 * PgBouncer as a tested deployment (docs/scale-out.md): a PgBouncer of the test's own in
 * TRANSACTION pooling mode in front of a fresh database; server processes serve through it with
 * EVENT_PG_LISTEN=0, Redis on and MIGRATE_ON_START=0 (the production recipe), migrations go through
 * the direct URL (MIGRATION_DATABASE_URL). During mixed write traffic on two instances and a
 * cross-instance subscription: migrate:deploy through the direct URL, the lock-leak reproduction
 * (several concurrent migrate:deploy runs THROUGH the pooler, which used to leave a session advisory
 * lock on a pooled server connection and hang every later run), and a third instance starting
 * (migrating on start through the pooler, the harder case). Then: no errors, nothing lost or
 * duplicated, no advisory lock left, no orphaned backend, the third instance healthy within a bound.
 *
 * Needs PostgreSQL, Redis and the pgbouncer binary (Debian package `pgbouncer`; .ci/run installs it):
 * skipped with a notice without them, a failure when REQUIRE_PGBOUNCER=1 (CI).
 */
const postgres = testBackend() === 'postgres';
const bin = pgbouncerBinary();
const NEW_INSTANCE_HEALTHY_MS = 60_000;
const DEPLOY_MS = 60_000;

if (postgres && !bin) {
  if (process.env.REQUIRE_PGBOUNCER === '1') throw new Error('pgbouncer is required (REQUIRE_PGBOUNCER=1) but not installed');
  console.warn('[tests] PgBouncer test skipped: no pgbouncer binary (apt-get install pgbouncer)');
}

type Lead = { id: string; customerId: string };

// Skipped on PGlite: PgBouncer pools PostgreSQL connections.
describe.skipIf(!postgres || !bin)('PgBouncer (transaction pooling) in front of several instances', () => {
  let db: TestDatabase;
  let shop: CreatedShop;
  let bouncer: PgBouncer;
  let redis: Awaited<ReturnType<typeof findRedis>> = null;
  const instances: Instance[] = [];
  const subs: Sub<Lead>[] = [];
  let admin: pg.Client;

  beforeAll(async () => {
    redis = await findRedis();
    if (!redis) {
      if (process.env.REQUIRE_REDIS === '1') throw new Error('Redis is required (REQUIRE_REDIS=1) but neither reachable nor startable');
      return;
    }
    db = await createTestDatabase();
    shop = await createShop(db.prisma, { name: `Bouncer ${randomBytes(3).toString('hex')}` });
    bouncer = await startPgBouncer(bin as string, db.url as string, { poolSize: 8 });
    admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
  });
  afterAll(async () => {
    for (const s of subs) await s.client.dispose();
    for (const i of instances) await i.stop();
    await admin?.end();
    await bouncer?.stop();
    await db?.close();
    await redis?.stop();
  });

  const dbName = () => new URL(db.url as string).pathname.slice(1);
  const advisoryLocks = async (objid?: number) =>
    (
      await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
         WHERE l.locktype = 'advisory' AND d.datname = $1 AND ($2::int IS NULL OR l.objid = $2::int)`,
        [dbName(), objid ?? null],
      )
    ).rows[0]?.n;

  it('a start told not to migrate refuses to serve an unmigrated database, with a clear message', async (ctx) => {
    if (!redis) return ctx.skip();
    const name = `crm_test_empty_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE "${name}"`);
    try {
      const u = new URL(adminUrl());
      u.pathname = `/${name}`;
      const r = await runToExit(MAIN, {
        NODE_ENV: 'production',
        PORT: '0',
        DATABASE_URL: u.toString(),
        MIGRATE_ON_START: '0',
        CUSTOMER_TOKEN_SECRET: 'pgbouncer-test-secret-0123456789',
        LOG_LEVEL: 'warn',
      });
      expect(r.code).toBe(1);
      expect(r.output).toContain(`missing ${readMigrations().length} migration(s)`);
      expect(r.output).toMatch(/MIGRATE_ON_START=0: refusing to serve.*migrate:deploy/s);
      expect(r.output).not.toContain('Headless CRM API');
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  });

  it('named prepared statements through a pooler that does not keep them fall back to unnamed ones: every answer right', async () => {
    // PgBouncer before 1.21 in transaction mode (Debian 12 ships 1.18) hands each transaction any
    // server connection: a statement prepared on one is unknown (or already there) on another.
    const through = await openDatabase({ url: bouncer.url, migrate: false, poolSize: 4 });
    try {
      const texts = ['SELECT $1::int AS x', 'SELECT $1::int + 0 AS x', 'SELECT $1::int * 1 AS x'];
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) => through.driverQuery<{ x: number }>(texts[i % 3] as string, [i]).then((r) => r[0]?.x)),
      );
      expect(answers).toEqual(Array.from({ length: 60 }, (_, i) => i));
      // Later statements run unnamed at once.
      expect(await through.driverQuery<{ x: number }>('SELECT $1::int - 0 AS x', [7])).toEqual([{ x: 7 }]);
    } finally {
      await through.close();
    }
  });

  it('serves mixed writes and a cross-instance subscription through PgBouncer while migrations run and a third instance starts', async (ctx) => {
    if (!redis) return ctx.skip();
    const direct = db.url as string;
    const recipe = { MIGRATE_ON_START: '0', MIGRATION_DATABASE_URL: direct, DB_POOL_SIZE: '4' };
    const [one, two] = await Promise.all([
      startInstance(bouncer.url, redis.url, { ...recipe, DB_APPLICATION_NAME: 'crm-bouncer-1' }),
      startInstance(bouncer.url, redis.url, { ...recipe, DB_APPLICATION_NAME: 'crm-bouncer-2' }),
    ]);
    instances.push(one, two);
    const key = shop.secretKey;

    // A subscriber on instance 1 (only Redis rings it: no LISTEN through the pooler, poll off).
    const sub = subscribe<Lead>(
      one.url,
      key,
      'subscription($after: ID) { leadCreated(after: $after) { id payload } }',
      { after: '0' },
      (data) => {
        const e = (data as { leadCreated?: { id: string; payload: { customerId: string } } } | undefined)?.leadCreated;
        return e ? { id: e.id, customerId: e.payload.customerId } : null;
      },
    );
    subs.push(sub);

    // Mixed writes from both instances until the operations below are done (and at least 150 requests).
    const failures: string[] = [];
    const leads: string[] = [];
    const customers: string[] = [];
    let requests = 0;
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop || requests < 150; i++) {
        const inst = (i + w) % 2 === 0 ? one : two;
        const tag = randomBytes(5).toString('hex');
        const kind = i % 3;
        requests++;
        if (kind === 0) {
          const r = await gqlPost<{ captureLead?: { customer?: { id: string } } }>(
            inst.url,
            key,
            'mutation($i: CaptureLeadInput!) { captureLead(input: $i) { __typename ... on CaptureLeadPayload { customer { id } } } }',
            { i: { email: `lead-${tag}@example.com`, message: 'hello' } },
          );
          const id = r.data?.captureLead?.customer?.id;
          if (!id || r.errors) failures.push(JSON.stringify(r));
          else leads.push(id);
        } else if (kind === 1) {
          const r = await gqlPost<{ createCustomer?: { __typename: string; customer?: { id: string } } }>(
            inst.url,
            key,
            'mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { __typename ... on CreateCustomerSuccess { customer { id } } } }',
            { i: { email: `cust-${tag}@example.com`, firstName: 'Ada' } },
          );
          const id = r.data?.createCustomer?.customer?.id;
          if (!id || r.errors) failures.push(JSON.stringify(r));
          else customers.push(id);
        } else {
          const r = await gqlPost(inst.url, key, '{ customers(first: 5) { totalCount edges { node { id } } } }');
          if (r.errors || r.status !== 200) failures.push(JSON.stringify(r));
        }
      }
    };
    const traffic = Promise.all([0, 1, 2, 3].map(worker));

    // The lock-leak reproduction: concurrent migrate:deploy runs THROUGH PgBouncer (no direct URL),
    // plus one through the direct URL, all during traffic. Each must finish, none may hang.
    await sleep(500);
    const deploy = (url: string) =>
      runToExit(MIGRATE_CLI, { DATABASE_URL: url, MIGRATION_LOCK_TIMEOUT_MS: '30000', LOG_LEVEL: 'warn' }, ['deploy'], DEPLOY_MS);
    const deployStarted = Date.now();
    const deploys = await Promise.all([deploy(bouncer.url), deploy(bouncer.url), deploy(bouncer.url), deploy(bouncer.url), deploy(direct)]);
    const deployMs = Date.now() - deployStarted;
    for (const d of deploys) {
      expect(d.output).toContain('database is up to date');
      expect(d.code).toBe(0);
    }
    expect(deployMs).toBeLessThan(DEPLOY_MS);
    // Nothing held the migration lock afterwards, on any pooled server connection.
    expect(await advisoryLocks(MIGRATION_LOCK_ID)).toBe(0);

    // A third instance starts during traffic, migrating on start through the pooler, and is healthy within the bound.
    const third = await startInstance(bouncer.url, redis.url, {
      MIGRATE_ON_START: '1',
      DB_POOL_SIZE: '4',
      DB_APPLICATION_NAME: 'crm-bouncer-3',
    });
    instances.push(third);
    const health = await fetch(`${third.url}/health`);
    expect(health.status).toBe(200);
    expect(third.startedMs).toBeLessThan(NEW_INSTANCE_HEALTHY_MS);
    // It serves writes too.
    const viaThird = await gqlPost<{ captureLead?: { customer?: { id: string } } }>(
      third.url,
      key,
      'mutation($i: CaptureLeadInput!) { captureLead(input: $i) { __typename ... on CaptureLeadPayload { customer { id } } } }',
      { i: { email: `third-${randomBytes(4).toString('hex')}@example.com` } },
    );
    expect(viaThird.errors).toBeUndefined();
    leads.push(viaThird.data?.captureLead?.customer?.id as string);

    stop = true;
    await traffic;
    expect(failures).toEqual([]);

    // Nothing lost or duplicated: every lead reached the subscriber on instance 1 once, in table order.
    await waitFor(
      () => sub.events.length >= leads.length + customers.length,
      `${leads.length + customers.length} leads at the subscriber`,
      60_000,
    );
    await sleep(300);
    expect(sub.errors).toEqual([]);
    const table = await db.prisma.event.findMany({
      where: { shopId: shop.shop.id, type: 'LEAD_CAPTURED' },
      orderBy: { id: 'asc' },
      select: { id: true },
    });
    expect(sub.events.map((e) => e.id)).toEqual(table.map((e) => e.id.toString()));
    // Every new lead is LEAD_CAPTURED, captured from a form or created through the API (a PROSPECT).
    expect(new Set(sub.events.map((e) => e.customerId))).toEqual(new Set([...leads, ...customers]));
    expect(sub.events.length).toBe(leads.length + customers.length);
    const stored = await db.prisma.customer.count({ where: { shopId: shop.shop.id } });
    expect(stored).toBe(leads.length + customers.length);

    // No advisory lock left behind, no migration backend left over, and no error logged by any instance.
    await waitFor(async () => (await advisoryLocks()) === 0, 'no advisory locks', 10_000);
    // A migration backend left over is one still working or inside a transaction. An idle one is not:
    // PgBouncer keeps server connections pooled, and one a migrate client used last keeps its
    // application_name until another client takes it (counting those made this test flaky).
    const busyMigrateBackends = async () =>
      (
        await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = $1 AND application_name LIKE '%-migrate' AND state IS DISTINCT FROM 'idle'`,
          [dbName()],
        )
      ).rows[0].n;
    await waitFor(async () => (await busyMigrateBackends()) === 0, 'no migration backend working or in a transaction', 10_000);
    for (const i of instances) expect(i.output.join('')).not.toContain('"level":"error"');
    console.info(
      `[pgbouncer] ${requests} requests, ${leads.length} leads, ${customers.length} customers; 5 concurrent migrate:deploy took ${deployMs} ms; third instance listening after ${third.startedMs} ms`,
    );
  });
});
