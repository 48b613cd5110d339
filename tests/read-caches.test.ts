import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../packages/server/src/app.ts';
import { type Database, openDatabase } from '../packages/server/src/db/database.ts';
import { createLogger } from '../packages/server/src/logger.ts';
import { type Caller, createTestApp, rawId, type TestApp } from '../packages/server/src/testing.ts';
import { createCustomer, createStaff, errorCodes, mutate, ok, sleep, succeed } from './helpers/crm.ts';

/**
 * The read caches (docs/performance.md): API keys cached per instance and dropped on every
 * instance when a key is revoked (two apps on one database, hearing each other through the event
 * bus), and `totalCount` cached per shop and filter, dropped by the shop's events.
 */

const COUNT = '{ customers { totalCount } }';
const VIEWER = '{ viewer { keyKind } }';

async function waitFor(cond: () => Promise<boolean>, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('API key cache across two instances on one database', () => {
  let a: TestApp;
  let bDb: Database | null = null;
  let b: App;
  let gb: (key: string) => Caller;
  beforeAll(async () => {
    a = await createTestApp();
    // A second instance: its own pool on the same PostgreSQL database (PGlite: the same in-memory database).
    bDb = a.db.url ? await openDatabase({ url: a.db.url, migrate: false, poolSize: 2 }) : null;
    b = buildApp({ config: a.config, database: bDb ?? a.db, logger: createLogger('silent'), tokenSecret: randomBytes(32).toString('hex') });
    // Started: both buses listen for the outbox doorbell.
    await a.app.start();
    await b.start();
    gb = (key) => async (query, variables, headers) => {
      const res = await b.yoga.fetch('http://b/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { ...((await res.json()) as object), status: res.status } as never;
    };
  });
  afterAll(async () => {
    await b?.stop();
    await bDb?.close();
    await a?.close();
  });

  it('caches a key: a revocation written behind the API (no event) is not seen until an event of the shop', async () => {
    const s = await a.newShop();
    const ga = a.gql(s.secretKey);
    const created = await succeed(ga, 'createApiKey', { kind: 'SECRET', name: 'cached' });
    const key = created.key as string;
    expect((await ok<{ viewer: { keyKind: string } }>(gb(key), VIEWER)).viewer.keyKind).toBe('SECRET');
    // Not the API's way to revoke: no event, so instance B keeps its cached key...
    await a.db.sql.query(`UPDATE "ApiKey" SET "revokedAt" = now() WHERE id = $1`, [rawId((created.apiKey as { id: string }).id)]);
    expect((await gb(key)(VIEWER)).status).toBe(200);
    // ...until any event of the shop (here a new customer, made through instance A) reaches it.
    await createCustomer(ga, { email: 'someone@cache.test' });
    await waitFor(async () => (await gb(key)(VIEWER)).status === 401, 'instance B to drop the shop’s cached keys');
  });

  it('a revoke through one instance stops the key at once on both', async () => {
    const s = await a.newShop();
    const ga = a.gql(s.secretKey);
    const created = await succeed(ga, 'createApiKey', { kind: 'SECRET', name: 'to revoke' });
    const key = created.key as string;
    // Both instances have the key cached.
    expect((await a.gql(key)(COUNT)).status).toBe(200);
    expect((await gb(key)(COUNT)).status).toBe(200);
    await succeed(ga, 'revokeApiKey', { id: (created.apiKey as { id: string }).id });
    // The revoking instance: right after the mutation (no waiting for the doorbell).
    const onA = await a.gql(key)(COUNT);
    expect(onA.status).toBe(401);
    expect(errorCodes(onA)).toEqual(['UNAUTHENTICATED']);
    // The other: as soon as the outbox doorbell rings there.
    await waitFor(async () => (await gb(key)(COUNT)).status === 401, 'instance B to refuse the revoked key');
    // The revocation is an outbox event of the shop.
    const [ev] = await a.db.sql.query<{ type: string }>(`SELECT type FROM "Event" WHERE "shopId" = $1 AND type = 'API_KEY_REVOKED'`, [
      s.shop.id,
    ]);
    expect(ev?.type).toBe('API_KEY_REVOKED');
  });

  it('a staff user deactivated or demoted through one instance stops acting as such on both', async () => {
    const s = await a.newShop();
    const ga = a.gql(s.secretKey);
    const manager = await createStaff(ga, { name: 'Mia Manager', email: 'mia@cache.test', role: 'MANAGER' });
    const agent = await createStaff(ga, { name: 'Al Agent', email: 'al@cache.test', role: 'AGENT' });
    const other = await createStaff(ga, { name: 'Olga Other', email: 'olga@cache.test', role: 'AGENT' });
    const asOn =
      (g: Caller, staffId: string): Caller =>
      (q, v) =>
        g(q, v, { 'x-crm-staff-id': staffId });
    // Only a manager may read another staff user's agenda.
    const OTHERS_AGENDA = `{ agenda(assigneeId: "${other.id}") { totalCount } }`;
    const onB = gb(s.secretKey);
    // Both instances have the manager and the agent cached as they are.
    for (const g of [ga, onB]) {
      expect((await asOn(g, manager.id)(OTHERS_AGENDA)).errors).toBeUndefined();
      expect((await asOn(g, agent.id)(VIEWER)).status).toBe(200);
    }
    await succeed(ga, 'updateStaffUser', { id: manager.id, role: 'AGENT' });
    await succeed(ga, 'updateStaffUser', { id: agent.id, active: false });
    // The instance that made the change: at once.
    expect(errorCodes(await asOn(ga, manager.id)(OTHERS_AGENDA))).toEqual(['FORBIDDEN']);
    const gone = await asOn(ga, agent.id)(VIEWER);
    expect([gone.status, errorCodes(gone)]).toEqual([401, ['UNAUTHENTICATED']]);
    // The other: as soon as the outbox doorbell rings there.
    await waitFor(
      async () => errorCodes(await asOn(onB, manager.id)(OTHERS_AGENDA)).includes('FORBIDDEN'),
      'instance B to see the demotion',
    );
    await waitFor(async () => (await asOn(onB, agent.id)(VIEWER)).status === 401, 'instance B to refuse the deactivated staff user');
    // Each change is an outbox event naming the changed fields, no values.
    const evs = await a.db.sql.query<{ payload: { fields: string[] } }>(
      `SELECT payload FROM "Event" WHERE "shopId" = $1 AND type = 'STAFF_USER_UPDATED' ORDER BY id`,
      [s.shop.id],
    );
    expect(evs.map((e) => e.payload.fields)).toEqual([['role'], ['active']]);
  });

  it('shop settings changed through one instance hold on both: a withdrawn agent grant', async () => {
    const s = await a.newShop(undefined, 'owner@settings-cache.test');
    const ga = a.gql(s.secretKey);
    const agent = await createStaff(ga, { name: 'Al Agent', email: 'al@settings-cache.test', role: 'AGENT' });
    const asOn =
      (g: Caller, staffId: string): Caller =>
      (q, v) =>
        g(q, v, { 'x-crm-staff-id': staffId });
    const onB = gb(s.secretKey);
    const GRANT = (grants: string) => `mutation { updateAuthorizationSettings(input: { agentsMay: [${grants}] }) { __typename } }`;
    const newStaff = async (g: Caller) =>
      (await mutate(asOn(g, agent.id), 'createStaffUser', { name: 'New', email: `n-${Math.random()}@settings-cache.test` })).__typename;
    await ok(ga, GRANT('MANAGE_STAFF'));
    // Both instances read (and cache) the grant.
    expect(await newStaff(ga)).toBe('CreateStaffUserSuccess');
    expect(await newStaff(onB)).toBe('CreateStaffUserSuccess');
    await ok(ga, GRANT(''));
    expect(await newStaff(ga)).toBe('ForbiddenError');
    await waitFor(async () => (await newStaff(onB)) === 'ForbiddenError', 'instance B to see the withdrawn grant');
    const evs = await a.db.sql.query<{ payload: { section: string } }>(
      `SELECT payload FROM "Event" WHERE "shopId" = $1 AND type = 'SETTINGS_UPDATED' ORDER BY id`,
      [s.shop.id],
    );
    expect(evs.map((e) => e.payload.section)).toEqual(['authorization', 'authorization']);
  });

  it('a key of one shop never serves another: caches are per shop', async () => {
    const s1 = await a.newShop();
    const s2 = await a.newShop();
    await createCustomer(a.gql(s1.secretKey), { email: 'one@cache.test' });
    for (let i = 0; i < 2; i++) {
      expect((await ok<{ customers: { totalCount: number } }>(gb(s1.secretKey), COUNT)).customers.totalCount).toBe(1);
      expect((await ok<{ customers: { totalCount: number } }>(gb(s2.secretKey), COUNT)).customers.totalCount).toBe(0);
    }
  });
});

describe('totalCount: cached per shop and filter, dropped by the shop’s events', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ caches: { apiKeyMs: 30_000, countMs: 60_000, responseMs: 0 } });
  });
  afterAll(() => t.close());
  const total = async (g: Caller, filter?: unknown) =>
    (
      await ok<{ customers: { totalCount: number } }>(g, 'query ($f: CustomerFilter) { customers(filter: $f) { totalCount } }', {
        f: filter ?? null,
      })
    ).customers.totalCount;

  it('serves the cached count until an event of the shop; every filter has its own count', async () => {
    const s = await t.newShop();
    const g = t.gql(s.secretKey);
    await createCustomer(g, { email: 'a@count.test', stage: 'PROSPECT' });
    await createCustomer(g, { email: 'b@count.test', stage: 'LOYAL' });
    expect(await total(g)).toBe(2);
    expect(await total(g, { stages: ['LOYAL'] })).toBe(1);
    // A row added behind the API (no event): the cached counts stand (at most COUNT_CACHE_MS).
    await t.db.sql.query(`INSERT INTO "Customer" ("shopId", "email", "stage") VALUES ($1, 'c@count.test', 'LOYAL')`, [s.shop.id]);
    expect(await total(g)).toBe(2);
    expect(await total(g, { stages: ['LOYAL'] })).toBe(1);
    // A filter not counted before is counted now.
    expect(await total(g, { stages: ['LOYAL', 'PROSPECT'] })).toBe(3);
    // Any change through the API emits an event: every count of the shop is exact again.
    await createCustomer(g, { email: 'd@count.test', stage: 'PROSPECT' });
    expect(await total(g)).toBe(4);
    expect(await total(g, { stages: ['LOYAL'] })).toBe(2);
  });

  it('never crosses shops, and the count of another shop is not dropped by this one’s events', async () => {
    const s1 = await t.newShop();
    const s2 = await t.newShop();
    const g1 = t.gql(s1.secretKey);
    const g2 = t.gql(s2.secretKey);
    await createCustomer(g1, { email: 'x@count.test' });
    expect(await total(g1)).toBe(1);
    expect(await total(g2)).toBe(0);
    await t.db.sql.query(`INSERT INTO "Customer" ("shopId", "email") VALUES ($1, 'y@count.test')`, [s2.shop.id]);
    await createCustomer(g1, { email: 'z@count.test' });
    expect(await total(g1)).toBe(2);
    // Shop 2 had no event: still its cached 0.
    expect(await total(g2)).toBe(0);
  });

  it('COUNT_CACHE_MS=0 counts every request', async () => {
    const exact = await createTestApp();
    try {
      expect(exact.config.caches.countMs).toBe(0);
      const s = await exact.newShop();
      const g = exact.gql(s.secretKey);
      expect(await total(g)).toBe(0);
      await exact.db.sql.query(`INSERT INTO "Customer" ("shopId", "email") VALUES ($1, 'w@count.test')`, [s.shop.id]);
      expect(await total(g)).toBe(1);
    } finally {
      await exact.close();
    }
  });

  it('storefront behaviour events (trackEvents) leave the shop’s caches alone; a mutation that writes an event drops them', async () => {
    const s = await t.newShop();
    const caches = t.app.services.caches;
    const generations = () => [
      caches?.counts?.generation(s.shop.id),
      caches?.staff?.generation(s.shop.id),
      caches?.settings?.generation(s.shop.id),
    ];
    const before = generations();
    const track = await t.gql(s.publishableKey)('mutation($e: [BehaviourEventInput!]!) { trackEvents(events: $e) { __typename } }', {
      e: [{ type: 'PAGE_VIEWED', visitorId: '6f1c1f8e-8a57-4c44-9c7e-0d0f5b3e2a10', url: 'https://shop.example/' }],
    });
    expect(track.errors).toBeUndefined();
    expect(generations()).toEqual(before);
    await createCustomer(t.gql(s.secretKey), { email: 'drop@count.test' });
    expect(generations().every((g, i) => (g ?? 0) > (before[i] ?? 0))).toBe(true);
  });
});
